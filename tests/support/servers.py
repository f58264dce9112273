"""Real uvicorn servers on loopback, each in a thread with its own event loop."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_socket() -> socket.socket:
    """A TCP socket bound to a free loopback port, ready for a server to listen on.

    Binding first and handing the socket to the server leaves no gap in which
    another process could take the port.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class ServerThread:
    """Runs an ASGI app with uvicorn in a background thread until :meth:`stop`.

    ``server`` replaces the default uvicorn server (to test one built like production);
    ``sock`` is a socket from :func:`free_socket` when the port must be known before
    the app is built.
    """

    def __init__(self, app: Any, server: uvicorn.Server | None = None, *, sock: socket.socket | None = None) -> None:
        self.sock = sock or free_socket()
        self.host = "127.0.0.1"
        self.port = int(self.sock.getsockname()[1])
        self.server = server or uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234``."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> ServerThread:
        """Start and wait until the server accepts connections."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("server thread died during startup")
            if time.monotonic() > deadline:
                raise TimeoutError(f"server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit, wait for the thread and release the socket."""
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
