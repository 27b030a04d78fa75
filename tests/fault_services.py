"""Servers the suite owns so that it can take them away: a Redis and a PostgreSQL cluster of its
own on free loopback ports, each stoppable and restartable on the same port (never the
machine's shared servers, which other runs use)."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from .helpers import free_port


def _wait_for_port(port: int, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}: {log.read_text()[-2000:]}")


class RedisServer:
    """`redis-server` on a free port, keeping nothing on disk."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = directory / "redis.log"
        self.directory = directory
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start it (again) on its port and wait until it answers."""
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        with self.log.open("a") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        _wait_for_port(self.port, 10, "redis-server", self.log)

    def stop(self) -> None:
        """Stop it, its data saved to its directory (a Redis that persists, as sessions want);
        its port refuses connections until `start`, which loads the data again."""
        if self.process is not None and self.process.poll() is None:
            subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "save"], capture_output=True, timeout=10)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def pause(self) -> None:
        """Freeze it: connections are accepted by the kernel but nothing answers."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused server answer again."""
        self.process.send_signal(signal.SIGCONT)


def _postgres_bin(name: str) -> str:
    bindir = subprocess.run(["pg_config", "--bindir"], check=True, capture_output=True, text=True)
    return str(Path(bindir.stdout.strip()) / name)


class PostgresCluster:
    """A PostgreSQL cluster of the suite's own (initdb, then pg_ctl as the `postgres` OS user),
    trust authentication on loopback, its socket in a directory of its own."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.data = directory / "data"
        self.sockets = directory / "sockets"
        self.log = directory / "postgres.log"
        self.sockets.mkdir()
        self.log.touch()
        self.running = False
        account = pwd.getpwnam("postgres")
        for path in (directory, self.sockets, self.log):
            os.chown(path, account.pw_uid, account.pw_gid)
        self._as_postgres(
            _postgres_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--no-sync", "--no-instructions",
        )  # fmt: skip

    def _as_postgres(self, *args: str) -> None:
        command = list(args) if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--", *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {result.stdout}{result.stderr}")

    def url(self, database: str = "postgres") -> str:
        """The DATABASE_URL of one of its databases."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """Start it (again) on its port and wait until it accepts connections."""
        options = (
            f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._as_postgres(
            _postgres_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"
        )
        self.running = True

    def stop(self) -> None:
        """Stop it at once (`-m fast`: open connections are cut, as in a crash or failover)."""
        if self.running:
            self._as_postgres(_postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        self.running = False

    def create_database(self, name: str) -> str:
        """Create a database and return its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _scratch(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


@pytest.fixture(scope="session")
def redis_server():
    """A Redis of this test run's own, running; a test that stops it starts it again."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is missing: run `make system-deps`")
    directory = _scratch("cqmr-redis-")
    server = RedisServer(directory)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_cluster():
    """A PostgreSQL cluster of this test run's own (initdb once per run), running."""
    directory = _scratch("cqmr-pg-")
    cluster = PostgresCluster(directory)
    cluster.start()
    yield cluster
    cluster.stop()
    shutil.rmtree(directory, ignore_errors=True)
