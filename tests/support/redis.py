"""A throwaway Redis server on loopback: ``redis-server`` on a free port, nothing written to disk.

``scripts/ensure-system-packages.sh`` (run by ``make test``) installs the binary; without it the
``redis_server`` fixture skips the tests that need it, saying so.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.servers import free_port

MISSING_REASON = "redis-server is not installed (scripts/ensure-system-packages.sh installs it)"


def redis_binary() -> str | None:
    """The path of ``redis-server``, or None when it is not installed."""
    return shutil.which("redis-server")


class RedisServer:
    """One Redis server: :attr:`url` is database 0; :meth:`fresh_url` hands out an empty database per caller."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="dpp-redis-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._next_db = 0

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start and wait until the server answers PING."""
        binary = redis_binary()
        if binary is None:
            raise RuntimeError(MISSING_REASON)
        self._process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
                "--logfile",
                str(self.root / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not self._pong():
            if self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self._process.returncode}: {self.log()[-2000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"redis-server on port {self.port} did not answer PING")
            time.sleep(0.02)
        return self

    def _pong(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def fresh_url(self) -> str:
        """The URL of a database number no earlier caller got (1-15, then round again), emptied first."""
        self._next_db = self._next_db % 15 + 1
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(f"SELECT {self._next_db}\r\nFLUSHDB\r\n".encode())
            answer = b""
            while answer.count(b"\r\n") < 2:
                chunk = sock.recv(64)
                if not chunk:
                    break
                answer += chunk
        return f"redis://127.0.0.1:{self.port}/{self._next_db}"

    def log(self) -> str:
        """The server's log so far."""
        path = self.root / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
