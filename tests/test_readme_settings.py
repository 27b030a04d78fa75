"""The README documents every setting settings.py declares and config.py reads, in its tables,
and says which ones the environment may set."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG_MODULES = ("settings.py", "sso_settings.py", "config.py")
SETTING = re.compile(r"^[A-Z][A-Z0-9_]+$")


def _string(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and SETTING.match(node.value):
        return node.value
    return None


def settings_read_by_config() -> tuple[set[str], set[str]]:
    """(every setting the configuration modules declare or read, those the environment may set),
    from their source."""
    trees = [ast.parse((ROOT / "cqmr_wizard" / name).read_text()) for name in CONFIG_MODULES]
    every: set[str] = set()
    from_environment: set[str] = set()
    for node in (node for tree in trees for node in ast.walk(tree)):
        if isinstance(node, ast.AnnAssign | ast.Assign) and isinstance(node.value, ast.Dict | ast.Tuple):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            values = node.value.keys if isinstance(node.value, ast.Dict) else node.value.elts
            keys = {k for k in map(_string, values) if k}
            every |= keys
            if any(name.endswith("ENV_SETTINGS") for name in names):
                from_environment |= keys
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            key = _string(node.slice)
            if key and isinstance(node.value, ast.Attribute) and node.value.attr == "config":
                every.add(key)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            owner = node.func.value
            if isinstance(owner, ast.Attribute) and owner.attr == "config" and node.args:
                key = _string(node.args[0])
                if key:
                    every.add(key)
    return every, from_environment


def readme_tables() -> dict[str, list[str]]:
    """Each setting named in a README table row, with the first cell of every row naming it."""
    found: dict[str, list[str]] = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        if not line.startswith("| `"):
            continue
        first_cell = line.split("|")[1]
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", first_cell):
            found.setdefault(name, []).append(first_cell)
    return found


def test_every_setting_config_reads_is_in_a_readme_table():
    every, _ = settings_read_by_config()
    assert {"CQMR_SCIM_URL", "CQMR_SCIM_TOKEN", "SECRET_KEY", "PROXY_COUNT"} <= every
    missing = sorted(every - set(readme_tables()))
    assert missing == [], f"README.md has no table row for {missing}"


def test_the_readme_marks_exactly_the_settings_the_environment_may_set():
    _, from_environment = settings_read_by_config()
    rows = readme_tables()
    marked = {name for name, cells in rows.items() if any(f"`{name}` (env)" in cell for cell in cells)}
    assert marked == from_environment
