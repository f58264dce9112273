"""Helpers for the HTTP edge tests: real uvicorn servers on loopback, a local runtime.

``LocalRuntime`` is a real :class:`gateway.contracts.Runtime`: it parses, validates
and executes operations against a graphql-core schema built from the "supergraph"
file's SDL, and reaches a real HTTP subgraph through the transport for the
``forwarded`` field. It lets the edge, the transport and hot reload be tested
without depending on the federation core.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from graphql import (
    GraphQLError,
    GraphQLResolveInfo,
    build_schema,
    get_operation_ast,
    parse,
    validate,
)
from graphql import (
    execute as graphql_execute,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.contracts import ExecutionOutcome, GraphQLRequest, SubgraphTransport
from gateway.serve import build_app, build_server
from gateway.settings import Settings
from tests.support.servers import ServerThread, free_socket

SDL_V1 = """
type Query {
  hello(name: String = "world"): String
  version: String
  wait: String
  forwarded: String
  v1only: String
}
type Mutation { bump: Int }
"""

SDL_V2 = """
type Query {
  hello(name: String = "world"): String
  version: String
  wait: String
  forwarded: String
  v2only: String
}
type Mutation { bump: Int }
"""


@dataclass
class Gates:
    """Thread-safe signals shared between a test and the server thread."""

    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class LocalRuntime:
    """Executes operations against a local graphql-core schema (see module docstring)."""

    def __init__(self, sdl: str, *, echo_url: str | None = None, gates: Gates | None = None) -> None:
        self.api_schema = build_schema(sdl)
        self.version = "v2" if "v2only" in sdl else "v1"
        self._echo_url = echo_url
        self._gates = gates or Gates()

    async def execute(
        self,
        request: GraphQLRequest,
        *,
        transport: SubgraphTransport,
        headers: Mapping[str, str],
        include_plan: bool = False,
        allow_mutations: bool = True,
    ) -> ExecutionOutcome:
        """Parse, validate and run one operation."""
        try:
            document = parse(request.query)
        except GraphQLError as exc:
            return ExecutionOutcome(errors=[exc.formatted], request_error=True)
        errors = validate(self.api_schema, document)
        if errors:
            return ExecutionOutcome(errors=[e.formatted for e in errors], request_error=True)
        operation = get_operation_ast(document, request.operation_name)
        if operation is None:
            return ExecutionOutcome(errors=[{"message": "Unknown operation"}], request_error=True)
        operation_type = operation.operation.value
        if operation_type == "mutation" and not allow_mutations:
            return ExecutionOutcome(
                errors=[{"message": "Mutations are not allowed here"}],
                request_error=True,
                operation_type=operation_type,
            )
        if request.operation_name == "Crash":
            raise RuntimeError("secret internal detail /etc/passwd")

        async def resolve(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
            name = info.field_name
            if name == "hello":
                return f"hello {args.get('name')}"
            if name == "version":
                return self.version
            if name == "bump":
                return 1
            if name == "wait":
                self._gates.entered.set()
                await asyncio.to_thread(self._gates.release.wait, 30)
                return self.version
            if name == "forwarded":
                assert self._echo_url is not None
                answer = await transport.fetch("echo", self._echo_url, {"query": "{ headers }"}, headers)
                if answer.error:
                    raise GraphQLError(answer.error)
                return orjson.dumps(answer.body["data"]["headers"]).decode()  # type: ignore[index]
            return name

        result = graphql_execute(
            self.api_schema,
            document,
            variable_values=dict(request.variables or {}),
            operation_name=request.operation_name,
            field_resolver=resolve,
        )
        if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
            result = await result
        outcome = ExecutionOutcome(
            data=result.data,  # type: ignore[union-attr]
            errors=[e.formatted for e in result.errors or []],  # type: ignore[union-attr]
            operation_type=operation_type,
        )
        if include_plan:
            outcome.extensions = {"queryPlan": {"kind": "Local", "operation": operation_type}}
        return outcome


def wait_until(predicate: Callable[[], Any], *, what: str, limit: float = 20.0) -> Any:
    """Poll ``predicate`` until it is truthy; fail the test after ``limit`` seconds.

    The limit only stops a broken test from hanging; no assertion depends on timing.
    """
    deadline = time.monotonic() + limit
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def echo_app(release: threading.Event) -> Starlette:
    """A stand-in subgraph: answers with what it received, or misbehaves on purpose."""

    async def graphql(request: Request) -> Response:
        body = orjson.loads(await request.body())
        return JSONResponse(
            {
                "data": {
                    "headers": dict(request.headers),
                    "body": body,
                    "clientPort": request.client.port if request.client else None,
                }
            }
        )

    async def slow(request: Request) -> Response:
        await asyncio.to_thread(release.wait, 30)
        return JSONResponse({"data": {}})

    async def broken(request: Request) -> Response:
        return Response("upstream exploded", status_code=502, media_type="text/plain")

    async def not_json(request: Request) -> Response:
        return Response("hello", media_type="text/plain")

    async def invalid(request: Request) -> Response:
        return JSONResponse({"errors": [{"message": "Cannot query field"}]}, status_code=400)

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["POST"]),
            Route("/slow", slow, methods=["POST"]),
            Route("/broken", broken, methods=["POST"]),
            Route("/notjson", not_json, methods=["POST"]),
            Route("/invalid", invalid, methods=["POST"]),
        ]
    )


@dataclass
class EchoSubgraph:
    """A running stand-in subgraph."""

    url: str
    release: threading.Event


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    yield port


@dataclass
class RunningGateway:
    """A gateway served by :func:`gateway.serve.build_server` in a background thread."""

    url: str
    supergraph: Path
    settings: Settings

    @property
    def graphql(self) -> str:
        """The GraphQL endpoint's URL."""
        return f"{self.url}/graphql"


@contextlib.contextmanager
def running_gateway(
    tmp_path: Path,
    sdl: str | None = SDL_V1,
    *,
    echo_url: str | None = None,
    gates: Gates | None = None,
    **settings: Any,
) -> Iterator[RunningGateway]:
    """Serve the ``LocalRuntime`` of a supergraph file in ``tmp_path`` (``sdl=None``: no file yet)."""
    path = tmp_path / "supergraph.graphql"
    if sdl is not None:
        path.write_text(sdl)
    values: dict[str, Any] = {"supergraph": path, "poll_interval": 0.02, "log_level": "warning"}
    values.update(settings)
    the_settings = Settings.from_mapping(values)

    def factory(text: str) -> LocalRuntime:
        return LocalRuntime(text, echo_url=echo_url, gates=gates)

    app = build_app(the_settings, runtime_factory=factory)
    with ServerThread(app, build_server(the_settings, app)) as server:
        yield RunningGateway(url=server.url, supergraph=path, settings=the_settings)
