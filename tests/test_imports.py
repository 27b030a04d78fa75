"""Every module of the package imports on its own in a fresh interpreter (no import cycle
hidden by the order in which the app factory happens to import things), and the imports keep
the layers `.importlinter` states (`lint-imports`).

To stay fast on a small machine, one fresh interpreter first loads the third-party libraries the
package uses (never a module of the package), then forks once per module: each child starts
with no module of the package loaded and imports only its own."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import cqmr_wizard

PACKAGE = Path(cqmr_wizard.__file__).parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

LIST_LIBRARIES = """
import importlib, json, sys
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] != "cqmr_wizard")))
"""

IMPORT_EACH_ALONE = """
import importlib, json, os, sys
libraries, modules = json.loads(sys.stdin.read())
for name in libraries:
    try:
        importlib.import_module(name)
    except Exception:
        pass
assert not [m for m in sys.modules if m.split(".")[0] == "cqmr_wizard"], "a library loaded the package"
failures = {}
for module in modules:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(module)
        except BaseException as error:
            os.write(write, f"{type(error).__name__}: {error}".encode()[:4000])
            os._exit(1)
        os._exit(0)
    os.close(write)
    message = os.read(read, 4096).decode()
    os.close(read)
    if os.waitpid(pid, 0)[1] != 0:
        failures[module] = message or "failed"
print(json.dumps(failures))
"""


def modules() -> list[str]:
    """Every module of the package but the Alembic scripts (they run inside Alembic only)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        if "migrations" in relative.parts:
            continue
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        found.append(".".join(parts))
    return found


def python(script: str, *args: str, stdin: str = "") -> str:
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=PACKAGE.parent,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_every_module_imports_alone_in_a_fresh_interpreter():
    names = modules()
    assert {"cqmr_wizard.agreements.facts", "cqmr_wizard.tasks.projection"} <= set(names)
    libraries = json.loads(python(LIST_LIBRARIES, json.dumps(names)))
    failures = json.loads(python(IMPORT_EACH_ALONE, stdin=json.dumps([libraries, names])))
    assert failures == {}


def test_the_imports_keep_the_layers_the_contract_states():
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        capture_output=True,
        text=True,
        cwd=PACKAGE.parent,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Contracts: [1-9][0-9]* kept, 0 broken", result.stdout), result.stdout
