"""A mail server that does not answer until told to: a loopback proxy in front of the test SMTP
server that accepts connections and holds each one, silent, until `release()`."""

from __future__ import annotations

import contextlib
import socket
import threading

from .helpers import free_port


class SmtpGate:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.connected = threading.Event()  # a client is connected and waiting for the greeting
        self.released = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._threads: list[threading.Thread] = []
        self._start(self._accept)

    def _start(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.connected.set()
            self._start(self._hold_then_forward, client)

    def _hold_then_forward(self, client: socket.socket) -> None:
        self.released.wait()
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        self._start(self._pipe, upstream, client)
        self._pipe(client, upstream)

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def release(self) -> None:
        """Let every held connection, and every later one, through to the real server."""
        self.released.set()

    def close(self) -> None:
        self.release()
        self._listener.close()
