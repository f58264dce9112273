"""A real subgraph on loopback whose failure mode a test switches at runtime (resilience tests).

Two subgraphs on one Starlette/uvicorn server: ``flaky`` (``/flaky``: ``hello``, ``who``,
``Mutation.bump``) misbehaves as told, ``steady`` (``/steady``: ``steady``) always
answers, so a response can show partial data. Every request ``flaky`` receives is
counted (queries and mutations apart) before it misbehaves, so a test can tell
whether a request reached it at all.

Modes: ``ok``; ``503`` (with an optional Retry-After); ``close`` (the connection is
dropped in the middle of the answer); ``slow`` (answers after ``delay`` seconds);
any mode waits ``delay`` seconds before it (mis)behaves, so concurrent requests overlap;
and any failing mode may be limited to the next ``n`` requests, after which it answers.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import build_schema, graphql
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from gateway.composition.compose import compose
from gateway.composition.subgraph import SubgraphSource
from tests.support.servers import ServerThread

_FED = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])\n'
FLAKY_SDL = _FED + "type Query { hello: String who: String }\ntype Mutation { bump: Int }\n"
STEADY_SDL = _FED + "type Query { steady: String }\n"

_FLAKY_SCHEMA = build_schema("type Query { hello: String who: String }\ntype Mutation { bump: Int }")
_STEADY_SCHEMA = build_schema("type Query { steady: String }")


@dataclass
class _Mode:
    kind: str = "ok"
    remaining: int | None = None  # None: until switched again
    retry_after: str | None = None
    delay: float = 0.0


class FlakySubgraph:
    """The server and its switch (see the module docstring); use as a context manager."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mode = _Mode()
        self.queries = 0
        self.mutations = 0
        self.bumps = 0
        self.authorizations: list[str | None] = []
        app = Starlette(routes=[Route("/flaky", _RawEndpoint(self), methods=["POST"]),
                                Route("/steady", _steady, methods=["POST"])])
        self._server = ServerThread(app)

    # -- the switch (called from the test thread) ------------------------------------------

    def set(self, kind: str, *, n: int | None = None, retry_after: str | None = None, delay: float = 0.0) -> None:
        """Misbehave as ``kind`` (ok, 503, close, slow), for the next ``n`` requests or until switched."""
        with self._lock:
            self._mode = _Mode(kind, n, retry_after, delay)
            self.reset_counts()

    def reset_counts(self) -> None:
        """Start counting requests from zero."""
        self.queries = self.mutations = 0
        self.authorizations = []

    @property
    def requests(self) -> int:
        """Requests received since the last switch or reset."""
        return self.queries + self.mutations

    # -- URLs and the supergraph -------------------------------------------------------------

    @property
    def url(self) -> str:
        """The flaky subgraph's URL."""
        return f"{self._server.url}/flaky"

    @property
    def steady_url(self) -> str:
        """The well-behaved subgraph's URL."""
        return f"{self._server.url}/steady"

    def supergraph_sdl(self) -> str:
        """The two subgraphs composed by the gateway's own composer."""
        result = compose([SubgraphSource("flaky", self.url, FLAKY_SDL),
                          SubgraphSource("steady", self.steady_url, STEADY_SDL)])
        assert result.ok and result.supergraph_sdl is not None, result.errors
        return result.supergraph_sdl

    # -- the server side -----------------------------------------------------------------------

    def _next_mode(self, body: dict[str, Any], authorization: str | None) -> _Mode:
        with self._lock:
            if str(body.get("query", "")).lstrip().startswith("mutation"):
                self.mutations += 1
            else:
                self.queries += 1
            self.authorizations.append(authorization)
            mode = self._mode
            if mode.remaining is not None:
                if mode.remaining <= 0:
                    return _Mode()
                mode.remaining -= 1
            return _Mode(mode.kind, None, mode.retry_after, mode.delay)

    async def _flaky(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        body = orjson.loads(await request.body())
        mode = self._next_mode(body, request.headers.get("authorization"))
        if mode.delay:
            await asyncio.sleep(mode.delay)
        if mode.kind == "503":
            headers = {"retry-after": mode.retry_after} if mode.retry_after else {}
            await Response("unavailable", 503, headers=headers, media_type="text/plain")(scope, receive, send)
            return
        if mode.kind == "close":
            # promise a body, send half of it, then fail: uvicorn drops the connection
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")]})
            await send({"type": "http.response.body", "body": b'{"data":', "more_body": True})
            raise ConnectionAbortedError("closing the connection on purpose")
        if str(body.get("query", "")).lstrip().startswith("mutation"):
            with self._lock:
                self.bumps += 1
                root: dict[str, Any] = {"bump": self.bumps}
        else:
            root = {"hello": "world", "who": request.headers.get("authorization")}
        result = await graphql(_FLAKY_SCHEMA, body["query"], root_value=root,
                               variable_values=body.get("variables"))
        await JSONResponse(result.formatted)(scope, receive, send)

    def __enter__(self) -> FlakySubgraph:
        self._server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.stop()


class _RawEndpoint:
    """An ASGI endpoint (a callable instance, which Starlette does not wrap in a Request)."""

    def __init__(self, owner: FlakySubgraph) -> None:
        self._owner = owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._owner._flaky(scope, receive, send)


async def _steady(request: Request) -> Response:
    body = orjson.loads(await request.body())
    result = await graphql(_STEADY_SCHEMA, body["query"], root_value={"steady": "fine"})
    return JSONResponse(result.formatted)


def flaky_subgraph() -> Iterator[FlakySubgraph]:
    """A generator for a pytest fixture: one started server, reset to ``ok`` by each test."""
    with FlakySubgraph() as server:
        yield server
