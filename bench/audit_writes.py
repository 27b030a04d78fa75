"""Audited writes under a slow mail server: `python -m bench.audit_writes` (part of `make bench`).

Two gunicorn instances share one PostgreSQL database of the benchmark's own. Concurrent
clients send failed sign-ins (each one an audited write) to both, while another client signs
people up (each sign-up an audited write plus a mail). The run is made twice: with the SMTP
server answering at once, and answering only after 2 seconds. Before the outbox, every audited
write waited behind whichever request was talking to the mail server; now the two runs should
be within 1.2x of each other. The figures go to bench/RESULTS.md under their own heading."""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import requests
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADING = "## Audited writes with a slow mail server (bench/audit_writes.py)"
SERVER = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
DATABASE = "cqmr_bench_audit"
CLIENTS = 8
DURATION = 20.0  # seconds of load per run
WARM_UP = 5.0  # seconds of the same load first, not counted (templates, pools, caches)
SMTP_DELAYS = (0.0, 2.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """Accepts every message."""

    received = 0

    async def handle_DATA(self, server, session, envelope):
        Sink.received += 1
        return "250 OK"


class SlowGreeting:
    """A proxy in front of the SMTP server that connects each client only after `delay` seconds."""

    def __init__(self, upstream: int, delay: float) -> None:
        self.upstream, self.delay, self.port = upstream, delay, free_port()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        time.sleep(self.delay)
        upstream = socket.create_connection(("127.0.0.1", self.upstream))
        threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
        self._pipe(client, upstream)

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            target.close()

    def close(self) -> None:
        self.listener.close()


def fresh_database() -> str:
    admin = create_engine(SERVER.replace("postgresql://", "postgresql+psycopg://", 1) + "/postgres")
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()
    return f"{SERVER}/{DATABASE}"


def write_instance(instance: Path, database_url: str, smtp_port: int) -> None:
    settings = {
        "CQMR_ENV": "development",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench",
        "AUDIT_HMAC_KEYS": "b" * 64,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_port,
        "WTF_CSRF_ENABLED": False,
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 64,
        "SIGN_IN_LOCKOUT_THRESHOLD": 10**9,
        "SIGN_IN_THROTTLE_FREE_ATTEMPTS": 10**9,
        "RATE_LIMIT_SIGN_IN": "1000000 per minute",
        "RATE_LIMIT_SIGN_UP": "1000000 per minute",
        "SESSION_COOKIE_SECURE": False,
    }
    instance.mkdir(parents=True, exist_ok=True)
    (instance / "config.py").write_text("".join(f"{k} = {v!r}\n" for k, v in settings.items()))


def start_gunicorn(instance: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "CQMR_INSTANCE_PATH": str(instance)}
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    command = [gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4", "wsgi:app"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/healthz", timeout=2).status_code == 200:
                return process, url
        except requests.RequestException:
            time.sleep(0.3)
    process.kill()
    sys.exit("gunicorn did not start")


def run_load(urls: list[str], tag: str, duration: float = DURATION) -> dict[str, float]:
    """CLIENTS threads of failed sign-ins and one of sign-ups for `duration` seconds."""
    stop = time.monotonic() + duration
    latencies: list[float] = []
    lock = threading.Lock()
    signups = [0]

    def failed_sign_ins(n: int) -> None:
        session, i = requests.Session(), 0
        while time.monotonic() < stop:
            url = urls[(n + i) % len(urls)]
            start = time.perf_counter()
            response = session.post(
                url + "/sign-in", data={"email": f"nobody-{tag}-{n}-{i}@example.org", "password": "wrong"}
            )
            elapsed = time.perf_counter() - start
            if response.status_code not in (200, 400):
                sys.exit(f"sign-in answered {response.status_code}")
            with lock:
                latencies.append(elapsed)
            i += 1

    def sign_ups() -> None:
        session, i = requests.Session(), 0
        while time.monotonic() < stop:
            data = {
                "full_name": "Bench Person",
                "email": f"new-{tag}-{i}@example.org",
                "password": "a long bench passphrase 42",
            }
            session.post(urls[i % len(urls)] + "/sign-up", data=data, allow_redirects=False)
            signups[0] += 1
            i += 1

    threads = [threading.Thread(target=failed_sign_ins, args=(n,)) for n in range(CLIENTS)]
    threads.append(threading.Thread(target=sign_ups))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {
        "writes_per_s": len(latencies) / duration,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "sign_ups": signups[0],
    }


def record_results(rows: list[tuple[float, dict[str, float]]], throughput: float, p99: float) -> None:
    fast, slow = rows[0][1], rows[1][1]
    lines = [
        HEADING,
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: two gunicorn instances (2 workers x 4 threads each) on one",
        f"PostgreSQL database; {CLIENTS} clients sending failed sign-ins (audited writes) for {DURATION:.0f} s",
        f"each run (after {WARM_UP:.0f} s of warm-up), while one client signs people up (an audited write",
        "plus a mail each).",
        "",
        "| SMTP answers | audited writes/s | p50 | p99 | sign-ups (mails) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for delay, figures in rows:
        lines.append(
            f"| after {delay:.0f} s | {figures['writes_per_s']:.1f} | {figures['p50_ms']:.0f} ms | "
            f"{figures['p99_ms']:.0f} ms | {figures['sign_ups']:.0f} |"
        )
    lines += [
        "",
        f"Ratio between the two runs (larger over smaller): throughput {throughput:.2f}x, p99 {p99:.2f}x "
        "(target: both ≤ 1.2x).",
        f"Slow run: {slow['writes_per_s']:.1f} writes/s against {fast['writes_per_s']:.1f}.",
        "",
    ]
    current = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    pattern = re.compile(re.escape(HEADING) + r".*?(?=^## |\Z)", re.S | re.M)
    section = "\n".join(lines) + "\n"
    updated = (
        pattern.sub(lambda _: section, current)
        if pattern.search(current)
        else current.rstrip() + "\n\n" + section
    )
    RESULTS.write_text(updated)


def main() -> None:
    database_url = fresh_database()
    sink = Controller(Sink(), hostname="127.0.0.1", port=free_port())
    sink.start()
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for delay in SMTP_DELAYS:
                proxy = SlowGreeting(sink.port, delay)
                servers = []
                for n in range(2):
                    instance = Path(tmp) / f"instance-{delay:.0f}-{n}"
                    write_instance(instance, database_url, proxy.port)
                    if not rows and n == 0:
                        subprocess.run(
                            [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "db", "upgrade"],
                            cwd=ROOT,
                            env={**os.environ, "CQMR_INSTANCE_PATH": str(instance)},
                            check=True,
                            capture_output=True,
                        )
                    servers.append(start_gunicorn(instance))
                try:
                    urls = [url for _, url in servers]
                    run_load(urls, f"warm{delay:.0f}", WARM_UP)
                    rows.append((delay, run_load(urls, f"d{delay:.0f}")))
                    verified = subprocess.run(
                        [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "audit", "verify"],
                        cwd=ROOT,
                        env={**os.environ, "CQMR_INSTANCE_PATH": str(instance)},
                        capture_output=True,
                        text=True,
                    )
                    print(verified.stdout.strip() or verified.stderr.strip())
                finally:
                    for process, _ in servers:
                        process.terminate()
                        process.wait(timeout=30)
                    proxy.close()
    finally:
        sink.stop()
    fast, slow = rows[0][1], rows[1][1]
    # Within 1.2x either way: the larger figure over the smaller one.
    throughput = max(fast["writes_per_s"], slow["writes_per_s"]) / min(
        fast["writes_per_s"], slow["writes_per_s"]
    )
    p99 = max(fast["p99_ms"], slow["p99_ms"]) / min(fast["p99_ms"], slow["p99_ms"])
    for delay, figures in rows:
        print(
            f"SMTP after {delay:.0f} s: {figures['writes_per_s']:.1f} audited writes/s, "
            f"p50 {figures['p50_ms']:.0f} ms, p99 {figures['p99_ms']:.0f} ms, {figures['sign_ups']:.0f} sign-ups"
        )
    print(
        f"ratio between the runs (larger/smaller): throughput {throughput:.2f}x, p99 {p99:.2f}x  (target ≤ 1.2x)"
    )
    record_results(rows, throughput, p99)


if __name__ == "__main__":
    main()
