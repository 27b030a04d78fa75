"""Test servers run as subprocesses that announce themselves with a "ready <url>" line."""

from __future__ import annotations

import select
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parent.parent


def start_announcing(
    args: list[str], *, env: Mapping[str, str], log_path: Path, what: str, timeout: float, mode: str = "w"
) -> tuple[subprocess.Popen, TextIO, str]:
    """Start `args` (stderr to `log_path`); return the process, its log and the announced URL."""
    log = log_path.open(mode)
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    deadline = time.monotonic() + timeout
    line = ""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline()
            if line.startswith("ready "):
                return process, log, line.split()[1]
        if process.poll() is not None:
            break
    stop(process, log)
    raise RuntimeError(f"{what} did not start: {line!r} {log_path.read_text()[-2000:]}")


def stop(process: subprocess.Popen | None, log: TextIO | None) -> None:
    """Terminate the process (killed if it lingers) and close its pipe and log."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    if process and process.stdout:
        process.stdout.close()
    if log is not None:
        log.close()
