"""A subgraph keeps an idle keep-alive connection longer than the gateway's pool does."""

from __future__ import annotations

import socket
import time

import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gateway.transport import HTTPTransport
from subgraphs.stack import SUBGRAPH_KEEP_ALIVE_SECONDS, subgraph_config
from tests.support.servers import ServerThread, free_socket


def _get(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /health HTTP/1.1\r\nhost: subgraph\r\n\r\n")
    return sock.recv(4096)


def test_a_connection_idle_past_uvicorns_default_still_answers() -> None:
    # The gateway's pool keeps connections 60 s; uvicorn's default closes them after 5 s, so a
    # request sent as the subgraph closes one got no answer (seen by make bench-dpp).
    assert SUBGRAPH_KEEP_ALIVE_SECONDS > HTTPTransport()._keepalive_timeout
    app = Starlette(routes=[Route("/health", lambda _request: PlainTextResponse("ok"))])
    listening = free_socket()
    port = listening.getsockname()[1]
    server = uvicorn.Server(subgraph_config(app, log_level="warning", lifespan="off"))
    with ServerThread(app, server, sock=listening):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            assert _get(sock).startswith(b"HTTP/1.1 200")
            time.sleep(6)  # past uvicorn's default 5 s keep-alive
            assert _get(sock).startswith(b"HTTP/1.1 200"), "the subgraph closed the idle connection"
