"""The DPP federation behind the @defer tests: identity (the session's issuer), catalog, templates
and passport on SQLite, and the production gateway app in front.

The templates subgraph sits behind a :class:`Gate`: while the gate is closed, every request that
reaches templates waits, so a test can prove that the first payload arrived before the deferred
subgraph answered (ordering, not a timing threshold)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Generator, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import orjson
import pytest

from gateway.settings import Settings
from subgraphs.common.app import create_app
from subgraphs.registry import load_definition
from tests.gateway_http.auth_stack import SUPERGRAPH, serving_gateway
from tests.support.fixtures import identity_issuers
from tests.support.identity import IdentityIssuer, IdentityIssuers
from tests.support.servers import ServerThread, free_socket
from tests.support.subgraphs import prepared_database, running_subgraph, subgraph_settings
from tokenauth import IssuerConfig

__all__ = ["identity_issuers", "stack"]

MULTIPART = "multipart/mixed;deferSpec=20220824, application/json"  # what Apollo Client sends
DELIMITER = b"\r\n--graphql"


def read_parts(chunks: Iterator[bytes]) -> Iterator[Any]:
    """The JSON of each multipart part as soon as it is complete (a part's JSON parses)."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        while True:
            start = buffer.find(DELIMITER)
            if start < 0:
                break
            rest = buffer[start + len(DELIMITER):]
            if rest.startswith(b"--"):
                return
            head_end = rest.find(b"\r\n\r\n")
            if head_end < 0:
                break
            following = rest.find(DELIMITER, head_end)
            content = rest[head_end + 4: following if following >= 0 else len(rest)]
            try:
                part = orjson.loads(content)
            except orjson.JSONDecodeError:
                break  # not all of it yet
            yield part
            buffer = rest[head_end + 4 + len(content):]


class Gate:
    """ASGI middleware: HTTP requests wait while the gate is closed (it is open by default)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._open = threading.Event()
        self._open.set()
        self.waiting = threading.Semaphore(0)  # released once per request that found the gate closed
        self.failing = False  # answer 503 instead (the subgraph is down)
        self.passed = 0  # requests let through

    def close(self) -> None:
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not self._open.is_set():
            self.waiting.release()
            await anyio.to_thread.run_sync(self._open.wait, 30.0)
        if scope["type"] == "http":
            self.passed += 1
        if scope["type"] == "http" and self.failing:
            await send({"type": "http.response.start", "status": 503,
                        "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"down for maintenance"})
            return
        await self.app(scope, receive, send)


@contextmanager
def gated_subgraph(name: str, database_url: str, **overrides: object) -> Iterator[tuple[ServerThread, Gate]]:
    prepared_database(name, database_url)
    sock = free_socket()
    settings = subgraph_settings(name, database_url, port=int(sock.getsockname()[1]), **overrides)
    gate = Gate(create_app(load_definition(name), settings))
    server = ServerThread(gate, sock=sock).start()
    try:
        yield server, gate
    finally:
        gate.open()
        server.stop()


@dataclass
class Stack:
    url: str
    issuer: IdentityIssuer
    templates: Gate
    settings: Settings

    @property
    def graphql(self) -> str:
        return self.url + "/graphql"

    def token(self, user: str = "acme-admin") -> str:
        return self.issuer.token_for(user)

    def parts(self, query: str, variables: dict[str, Any] | None = None, *,
              accept: str = MULTIPART) -> Generator[Any, None, None]:
        """The response as it arrives: the ``httpx.Response`` first, then each part's JSON."""
        headers = {"accept": accept, "authorization": f"Bearer {self.token()}"}
        body = {"query": query, "variables": variables or {}}
        with httpx.stream("POST", self.graphql, json=body, headers=headers, timeout=60) as response:
            yield response
            yield from read_parts(response.iter_bytes())

    def post(self, query: str, variables: dict[str, Any] | None = None, *, accept: str = "application/json",
             token: str | None = None) -> httpx.Response:
        headers = {"accept": accept, "authorization": f"Bearer {token or self.token()}"}
        return httpx.post(self.graphql, json={"query": query, "variables": variables or {}}, headers=headers,
                          timeout=60)


@pytest.fixture(scope="module")
def stack(identity_issuers: IdentityIssuers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    def identity_db() -> str:
        return f"sqlite+aiosqlite:///{(tmp_path_factory.mktemp('identity-db') / 'identity.db').as_posix()}"

    issuer = identity_issuers.get("sqlite", identity_db)
    with ExitStack() as running:
        servers = {}
        for name in ("catalog", "passport"):
            url = f"sqlite+aiosqlite:///{(tmp_path_factory.mktemp(name) / f'{name}.db').as_posix()}"
            servers[name] = running.enter_context(running_subgraph(name, url, **issuer.overrides()))
        url = f"sqlite+aiosqlite:///{(tmp_path_factory.mktemp('templates') / 'templates.db').as_posix()}"
        servers["templates"], gate = running.enter_context(gated_subgraph("templates", url, **issuer.overrides()))
        settings = Settings.from_mapping(
            {
                "supergraph": SUPERGRAPH,
                "poll_interval": 0,
                "log_level": "warning",
                "subgraph_urls": {"identity": issuer.url, **{n: s.url + "/graphql" for n, s in servers.items()}},
                "auth_issuers": [IssuerConfig(issuer.base_url, audiences=("dpp",))],
                "auth_context_url": issuer.base_url + "/auth/context",
                "auth_jwks_min_refresh_interval": 0,
                "retry_attempts": 0,
            }
        )
        gateway = running.enter_context(serving_gateway(settings))
        yield Stack(gateway.url, issuer, gate, settings)


@pytest.fixture(scope="module")
def impatient(stack: Stack) -> Iterator[Stack]:
    """A second gateway on the same subgraphs whose router timeout is one second."""
    settings = dataclasses.replace(stack.settings, router_timeout=1.0)
    with serving_gateway(settings) as gateway:
        yield Stack(gateway.url, stack.issuer, stack.templates, settings)
