"""Real subgraphs on loopback for the gateway core tests.

A subgraph is its federation SDL (the same file the supergraph fixture was
composed from) made executable with graphql-core, plus plain Python resolvers:
``entities`` resolve ``_entities`` representations, ``fields`` resolve
``"Type.field"``; everything else reads dict keys. All subgraphs of all
scenarios are served by one uvicorn server, each under its own path, and every
request a subgraph receives is recorded so tests can assert fetch counts.
"""

from __future__ import annotations

import dataclasses
import inspect
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from graphql import (
    DocumentNode,
    GraphQLObjectType,
    GraphQLSchema,
    InterfaceTypeDefinitionNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    SchemaExtensionNode,
    build_ast_schema,
    graphql,
    parse,
)

from tests.support.servers import free_port

FIXTURES = Path(__file__).parent / "fixtures"

Resolver = Callable[..., Any]


def _has_key(node: Any) -> bool:
    return any(d.name.value == "key" for d in node.directives or ())


def executable_schema(sdl: str, fields: dict[str, Resolver], entities: dict[str, Resolver]) -> GraphQLSchema:
    """The subgraph schema with ``_service`` / ``_entities`` added and resolvers attached."""
    doc = parse(sdl)
    defs: list[Any] = []
    entity_types: list[str] = []
    keyed_interfaces: set[str] = set()
    for d in doc.definitions:
        if isinstance(d, InterfaceTypeDefinitionNode) and _has_key(d):
            keyed_interfaces.add(d.name.value)
    merged: dict[str, Any] = {}
    for d in doc.definitions:
        if isinstance(d, SchemaExtensionNode):
            continue
        if isinstance(d, ObjectTypeExtensionNode):
            # Fed 1 style `extend type`: make it a definition (or merge into one)
            d = ObjectTypeDefinitionNode(name=d.name, interfaces=d.interfaces, directives=d.directives,
                                         fields=d.fields)
        if isinstance(d, ObjectTypeDefinitionNode):
            if d.name.value in merged:
                prev = merged[d.name.value]
                merged[d.name.value] = dataclasses.replace(prev, fields=(*prev.fields, *d.fields))
                continue
            merged[d.name.value] = d
            if _has_key(d) or any(i.name.value in keyed_interfaces for i in d.interfaces or ()):
                entity_types.append(d.name.value)
        defs.append(d)
    defs = [merged.get(getattr(getattr(d, "name", None), "value", None), d)
            if isinstance(d, ObjectTypeDefinitionNode) else d for d in defs]
    extra = "scalar _Any\ntype _Service { sdl: String }\n"
    if entity_types:
        extra += "union _Entity = " + " | ".join(entity_types) + "\n"
    root_fields = "_service: _Service!\n"
    if entity_types:
        root_fields += "_entities(representations: [_Any!]!): [_Entity]!\n"
    if "Query" in merged:
        q = merged["Query"]
        extra_q = parse("type Query {" + root_fields + "}").definitions[0]
        defs = [dataclasses.replace(d, fields=(*d.fields, *extra_q.fields)) if d is q else d for d in defs]  # type: ignore[attr-defined]
    else:
        extra += "type Query {" + root_fields + "}\n"
    full = DocumentNode(definitions=(*defs, *parse(extra).definitions))
    schema = build_ast_schema(full, assume_valid_sdl=True)
    for path, fn in fields.items():
        tname, fname = path.split(".")
        t = schema.get_type(tname)
        assert isinstance(t, GraphQLObjectType), path
        t.fields[fname].resolve = _wrap(fn)

    query = schema.query_type
    assert query is not None
    query.fields["_service"].resolve = lambda *_: {"sdl": sdl}
    if entity_types:

        def resolve_entities(_root: Any, _info: Any, representations: list[dict[str, Any]]) -> list[Any]:
            out = []
            for rep in representations:
                fn = entities.get(rep["__typename"])
                if fn is None:
                    raise ValueError(f"no entity resolver for {rep['__typename']}")
                value = fn(rep)
                if isinstance(value, dict) and "__typename" not in value:
                    value = {"__typename": rep["__typename"], **value}
                out.append(value)
            return out

        query.fields["_entities"].resolve = resolve_entities
    return schema


def _wrap(fn: Resolver) -> Resolver:
    params = inspect.signature(fn).parameters

    def resolve(source: Any, info: Any, **args: Any) -> Any:
        if len(params) >= 2:
            return fn(source, args)
        return fn(source)

    return resolve


@dataclass
class SubgraphApp:
    """One executable subgraph and the requests it received."""

    name: str
    schema: GraphQLSchema
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail: bool = False  # answer 500 without a body (a broken subgraph)


class SubgraphServer:
    """One uvicorn server on 127.0.0.1 hosting every registered subgraph at ``/<name>``."""

    def __init__(self) -> None:
        self.apps: dict[str, SubgraphApp] = {}
        self.port = free_port()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def register(self, name: str, schema: GraphQLSchema) -> SubgraphApp:
        app = SubgraphApp(name=name, schema=schema)
        self.apps[name] = app
        return app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        app = self.apps.get(scope["path"].strip("/"))
        if app is None:
            await _respond(send, 404, b'{"errors":[{"message":"no such subgraph"}]}')
            return
        payload = orjson.loads(body)
        app.requests.append(payload)
        if app.fail:
            await _respond(send, 500, b"internal error")
            return
        result = await graphql(
            app.schema,
            payload["query"],
            variable_values=payload.get("variables"),
            operation_name=payload.get("operationName"),
        )
        out: dict[str, Any] = {}
        if result.errors:
            out["errors"] = [e.formatted for e in result.errors]
        out["data"] = result.data
        await _respond(send, 200, orjson.dumps(out))

    def start(self) -> SubgraphServer:
        config = uvicorn.Config(self, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("subgraph server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


async def _respond(send: Any, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


@dataclass
class Scenario:
    """A supergraph fixture with its subgraphs running, ready to query through a Gateway."""

    name: str
    server: SubgraphServer
    subgraphs: dict[str, SubgraphApp]

    def supergraph_sdl(self) -> str:
        return (FIXTURES / self.name / "supergraph.graphql").read_text()

    def gateway(self, sdl: str | None = None) -> Any:
        """A Gateway on this scenario's supergraph (or on ``sdl``) pointed at the loopback subgraphs."""
        from gateway.runtime import Gateway

        overrides = {n: self.server.url(f"{self.name}/{n}") for n in self.subgraphs}
        return Gateway.from_supergraph_sdl(sdl or self.supergraph_sdl(), subgraph_url_overrides=overrides)

    def reset(self) -> None:
        for app in self.subgraphs.values():
            app.requests.clear()
            app.fail = False


def start_scenario(server: SubgraphServer, name: str, resolvers: dict[str, dict[str, Any]]) -> Scenario:
    """Register the subgraphs of fixture ``name``; ``resolvers[sub] = {"fields": ..., "entities": ...}``."""
    apps: dict[str, SubgraphApp] = {}
    for sdl_file in sorted((FIXTURES / name).glob("*.graphql")):
        if sdl_file.stem == "supergraph":
            continue
        sub = sdl_file.stem
        r = resolvers.get(sub, {})
        schema = executable_schema(sdl_file.read_text(), r.get("fields", {}), r.get("entities", {}))
        apps[sub] = server.register(f"{name}/{sub}", schema)
    return Scenario(name=name, server=server, subgraphs=apps)


async def run(gateway: Any, query: str, variables: dict[str, Any] | None = None,
              operation_name: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """Execute through the gateway with the production transport; returns the response body."""
    from gateway.contracts import GraphQLRequest
    from gateway.transport import HTTPTransport

    async with HTTPTransport() as transport:
        outcome = await gateway.execute(
            GraphQLRequest(query=query, variables=variables, operation_name=operation_name),
            transport=transport,
            headers={},
            **kwargs,
        )
    return outcome.to_response()


__all__ = ["Scenario", "SubgraphServer", "run", "start_scenario"]
