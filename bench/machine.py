"""The machine the benchmark ran on, and the RESULTS.md report."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import gunicorn
import psycopg
import redis

NOTE = (
    "Read the shares with the load average below in mind: on a machine shared with other work,\n"
    "every page that reaches the database, down to the health check's single `SELECT 1`, loses\n"
    "most of its share; large/small divides that noise out only in part."
)


def _first(path: str, key: str) -> str:
    for line in Path(path).read_text().splitlines():
        if line.startswith(key):
            return line.split(":", 1)[1].strip()
    return "unknown"


def describe() -> dict[str, str]:
    """CPU, memory, load, and the versions of everything on the request path."""
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres") as conn:
        postgres = conn.execute("SHOW server_version").fetchone()[0]
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{_first('/proc/cpuinfo', 'model name')}, {os.cpu_count()} logical CPUs",
        "memory": _first("/proc/meminfo", "MemTotal"),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "gunicorn": f"{gunicorn.__version__}, 2 sync workers",
        "postgresql": postgres,
        "redis": redis.Redis.from_url("redis://127.0.0.1:6379/0").info()["redis_version"],
        "wrk": (wrk.stdout or wrk.stderr).splitlines()[0] if (wrk.stdout or wrk.stderr) else "wrk",
    }


def report(described: dict, sizes, pages, targets: dict[str, int], results: dict) -> str:
    """RESULTS.md: the machine, every page at both sizes against bare Flask, and the export."""
    small, large = (results[s.name] for s in sizes)
    lines = [
        "# `make bench` results",
        "",
        "Written by `python -m bench` (bench/pages.py). Each page is driven by wrk (1 thread, 4",
        "connections, 3 s) right after the bare Flask app under the same gunicorn, so the share of",
        "bare Flask compares two runs taken moments apart on the same, shared machine.",
        "",
        NOTE,
        "",
        "## Machine",
        "",
        *(f"- {key}: {value}" for key, value in described.items()),
        "",
        "## Sizes",
        "",
        *(
            f"- {s.name}: {s.organizations:,} organizations, {s.users:,} people, "
            f"the measured organization has {s.big_team:,} members"
            for s in sizes
        ),
        "",
        "## Pages",
        "",
        "| page | small req/s | small p50 / p99 ms | small share | large req/s | large p50 / p99 ms "
        "| large share | large/small (time) | target share |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for page in pages:
        (sb, sm), (lb, lm) = small["pages"][page.name], large["pages"][page.name]
        s_share = sm.requests_per_second / sb.requests_per_second * 100
        l_share = lm.requests_per_second / lb.requests_per_second * 100
        target = f"≥ {targets[page.name]} %" if page.name in targets else ""
        lines.append(
            f"| {page.name} | {sm.requests_per_second:.0f} | {sm.p50_ms:.1f} / {sm.p99_ms:.1f} | {s_share:.1f} % "
            f"| {lm.requests_per_second:.0f} | {lm.p50_ms:.1f} / {lm.p99_ms:.1f} | {l_share:.1f} % "
            f"| {s_share / l_share:.2f} | {target} |"
        )
    floor = "help page (signed in)"
    if floor in small["pages"]:
        shares = [
            m.requests_per_second / b.requests_per_second * 100
            for b, m in (r["pages"][floor] for r in (small, large))
        ]
        lines += [
            "",
            f"The help page signed in ({shares[0]:.1f} % small, {shares[1]:.1f} % large) is what every signed-in",
            "page costs before any work of its own: the server-side session, the one statement that reads",
            "the person, membership, organization and roles, the access check, the security headers and",
            "the layout. No signed-in page can reach a higher share than it.",
        ]
    lines += [
        "",
        "large/small is the page's share of bare Flask at small size divided by its share at large",
        "size (how much longer a request takes at large size, with machine noise divided out);",
        "the target is ≤ 1.25. The two POSTs answer 400 on purpose (a wrong code, a wrong",
        "password: the throttles are lifted for the benchmark) so that every request does the",
        "full check; the sign-in includes one argon2id verification at the production cost",
        "(time cost 3, 64 MiB).",
        "",
        "## CSV export of every organization",
        "",
        "| size | status | size | first byte | total | worker RSS growth |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for s in sizes:
        export = results[s.name]["export"]
        lines.append(
            f"| {s.name} ({s.organizations:,} organizations) | {export.status} | {export.size / 1024:.0f} KiB "
            f"| {export.first_byte_ms:.0f} ms | {export.total_ms:.0f} ms | {results[s.name]['rss_growth_mb']:.1f} MB |"
        )
    lines += ["", "Target: worker RSS grows by less than 20 MB for 10,000 organizations.", ""]
    return "\n".join(lines)
