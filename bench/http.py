"""Serving and measuring over HTTP: gunicorn (the wizard and a bare Flask app), wrk on loopback,
and a plain HTTP client for time to first byte."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
DURATION = "3s"
CONNECTIONS = 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def worker_rss_kib(self) -> list[int]:
        sizes = []
        for pid in self.worker_pids():
            status = Path(f"/proc/{pid}/status").read_text()
            sizes.append(int(re.search(r"VmRSS:\s+(\d+)", status).group(1)))
        return sizes

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def gunicorn(app: str, env: dict[str, str], ready_path: str) -> Server:
    """gunicorn with WORKERS sync workers serving `app`, once both workers answer `ready_path`."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
    control = Path(tempfile.gettempdir()) / f"bench-gunicorn-{port}.ctl"
    command = [
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(WORKERS),
        "--control-socket",
        str(control),
        app,
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *command],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Server(process, port)
    answered = 0
    for _ in range(600):
        if process.poll() is not None:
            raise SystemExit(f"gunicorn {app} stopped; see {log.name}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", ready_path)
            answered += connection.getresponse().status == 200
            connection.close()
        except OSError:
            time.sleep(0.2)
        if answered >= 20:  # both workers have loaded the app
            return server
    server.stop()
    raise SystemExit(f"gunicorn {app} did not start; see {log.name}")


@dataclass(frozen=True)
class Measure:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def wrk(url: str, cookie: str | None = None, body: str | None = None) -> Measure:
    """Drive `url` with wrk for DURATION (a POST of `body` when given)."""
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency", url]
    script = None
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    if body is not None:
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
        escaped = body.replace("\\", "\\\\").replace('"', '\\"')
        script.write(
            'wrk.method = "POST"\n'
            f'wrk.body = "{escaped}"\n'
            'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
        )
        script.close()
        command += ["-s", script.name]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if script is not None:
        os.unlink(script.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return Measure(rate, p50, p99, int(errors.group(1)) if errors else 0)


@dataclass(frozen=True)
class Download:
    status: int
    first_byte_ms: float
    total_ms: float
    size: int


def download(port: int, path: str, cookie: str) -> Download:
    """GET `path`, timing the first byte of the body and the whole body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    start = time.perf_counter()
    connection.request("GET", path, headers={"Cookie": cookie})
    response = connection.getresponse()
    first = response.read(1)
    first_byte = time.perf_counter() - start
    size = len(first)
    while chunk := response.read(64 * 1024):
        size += len(chunk)
    total = time.perf_counter() - start
    connection.close()
    return Download(response.status, first_byte * 1000, total * 1000, size)
