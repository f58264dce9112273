"""A request through the fast path leaves nothing to the cyclic garbage collector.

graphql-core's executor holds itself through ``async_helpers`` (two bound methods of its own), so
every request's executor and everything it held (context, loaders, plans, collected fields) was
cyclic garbage (~4 fast_plans.Plan objects a request on the passport QR path, with their
defaultdicts and field details). :class:`FastFieldsExecutor` holds its helpers weakly
(subgraphs/common/fast_helpers.py). The check: with the collector disabled across one request
(after a warm-up request), ``gc.collect()`` finds nothing; Strawberry's own executor, run the same
way, leaves cycles (so the check would see them). The documents answer without errors: an error's
traceback holds the frames that caught it, the executor among their locals (graphql-core's error
path, left as it is).

On the real passport subgraph (uvicorn in this process, SQLite), with its public view cache on
and off, the QR path's request leaves no graphql-core, Strawberry, Starlette, uvicorn or subgraph
object to the collector: the request view (subgraphs/common/graphql.py) lets go of the request
context it put in the ASGI scope once it has answered (scope -> context -> request -> scope) and
of the context's dataloaders (passport's public view loader closes over the context: context ->
loaders -> loader -> batch function -> context). With the cache off, SQLAlchemy still leaves a
few objects of its own statement (an expanding bind parameter), which this check does not count.
"""

from __future__ import annotations

import asyncio
import gc
import http.client
import json
from collections.abc import Iterator
from enum import Enum
from typing import Any

import pytest
import strawberry
from aiodataloader import DataLoader
from graphql import DocumentNode, execute, parse
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from subgraphs.common import authz, demo
from subgraphs.common.caller import Caller
from subgraphs.common.fast_fields import FastFieldsExecutor
from subgraphs.common.graphql import build_schema
from subgraphs.common.loaders import ObjectLoader
from subgraphs.common.tags import PARTNER
from tests.subgraphs.fast_execution import CALLERS
from tests.support.servers import free_port
from tests.support.subgraphs import running_subgraph


async def _load_products(keys: list[str]) -> list[Any]:
    return [None if key == "missing" else ("product " + key, "sku-" + key) for key in keys]


class RequestContext:
    """The caller and a per-request dataloader (its batch function holds no reference to the context)."""

    def __init__(self, caller: Caller) -> None:
        self.caller = caller
        self.products = DataLoader(batch_load_fn=_load_products)


@strawberry.enum
class Access(Enum):
    PUBLIC = "public"
    RESTRICTED = "restricted"


@strawberry.type
class Field:
    key: str
    value: str | None
    access: Access


@strawberry.federation.type(keys=["id"], tags=[PARTNER])
class PublicProduct:
    id: strawberry.ID
    name: str

    @classmethod
    async def resolve_reference(cls, info: strawberry.Info, id: strawberry.ID) -> PublicProduct | None:
        row = await info.context.products.load(str(id))
        return None if row is None else cls(id=strawberry.ID(id), name=row[0])


@strawberry.type
class PublicPassport:
    name: str
    fields: list[Field]
    product: PublicProduct

    @strawberry.field
    def field_count(self) -> int:
        return len(self.fields)

    @strawberry.field
    async def later(self) -> str:
        await asyncio.sleep(0)
        return self.name


@strawberry.type
class Query:
    @strawberry.field
    def public_passport(self, uuid: str) -> PublicPassport | None:
        fields = [Field(key=f"k{i}", value=None if i % 3 else f"v{i}", access=Access.PUBLIC) for i in range(12)]
        return PublicPassport(
            name="passport " + uuid, fields=fields, product=PublicProduct(id=strawberry.ID("p1"), name="P")
        )


DOCUMENTS = [
    'query { publicPassport(uuid: "u1") { name fields { key value } product { id } } }',
    'query { publicPassport(uuid: "u1") { name fieldCount later fields { key access __typename } } }',
    "query($r: [_Any!]!) { _entities(representations: $r) { ... on PublicProduct { id name } } }",
]
VARIABLES = {"r": [{"__typename": "PublicProduct", "id": key} for key in ("p1", "p2", "missing", "p1")]}


@pytest.fixture(scope="module")
def schema() -> Any:
    built = build_schema(query=Query, types=[PublicProduct])
    authz.install(built._schema)
    return built


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    running = asyncio.new_event_loop()
    yield running
    running.close()


def _request(loop: asyncio.AbstractEventLoop, schema: Any, executor: type, document: DocumentNode) -> None:
    async def go() -> None:
        variables = {"r": [dict(rep) for rep in VARIABLES["r"]]}
        result: Any = execute(
            schema._schema,
            document,
            variable_values=variables,
            context_value=RequestContext(CALLERS[2]),
            executor_class=executor,
        )
        if hasattr(result, "__await__"):
            result = await result
        assert not result.errors, result.errors
        assert result.data

    loop.run_until_complete(go())


def _garbage_of_one_request(loop: asyncio.AbstractEventLoop, schema: Any, executor: type, document: str) -> int:
    parsed = parse(document)  # a subgraph parses a document once (limits.DocumentCache)
    _request(loop, schema, executor, parsed)  # warm-up: plans, builders and caches of the schema
    gc.collect()
    gc.disable()
    try:
        _request(loop, schema, executor, parsed)
        return gc.collect()
    finally:
        gc.enable()


@pytest.mark.parametrize("document", DOCUMENTS)
def test_a_request_leaves_no_cyclic_garbage(loop: asyncio.AbstractEventLoop, schema: Any, document: str) -> None:
    assert _garbage_of_one_request(loop, schema, FastFieldsExecutor, document) == 0


def test_the_check_sees_graphql_cores_executor_cycle(loop: asyncio.AbstractEventLoop, schema: Any) -> None:
    assert _garbage_of_one_request(loop, schema, StrawberryGraphQLCoreExecutionContext, DOCUMENTS[0]) > 0


def test_helpers_work_and_outlive_their_executor(loop: asyncio.AbstractEventLoop, schema: Any) -> None:
    """``info.async_helpers`` still gather and track; without the executor they do the same by themselves."""
    kept: list[Any] = []

    @strawberry.type
    class HelperQuery:
        @strawberry.field
        async def pair(self, info: strawberry.Info) -> list[int]:
            kept.append(info._raw_info.async_helpers)
            info._raw_info.async_helpers.track([asyncio.sleep(0)])
            return await info._raw_info.async_helpers.gather([asyncio.sleep(0, 1), asyncio.sleep(0, 2)])

    helper_schema = build_schema(query=HelperQuery)
    authz.install(helper_schema._schema)

    async def go() -> Any:
        result: Any = execute(helper_schema._schema, parse("{ pair }"), executor_class=FastFieldsExecutor)
        return await result

    assert loop.run_until_complete(go()).data == {"pair": [1, 2]}
    helpers = kept[0]
    gc.collect()

    async def after() -> list[Any]:
        helpers.track([asyncio.sleep(0)])
        return await helpers.gather([asyncio.sleep(0, 3)])  # type: ignore[no-any-return]

    assert loop.run_until_complete(after()) == [3]


QR = "query($uuid: String!) { publicPassport(uuid: $uuid) { name fields { key value } product { name } } }"


# where objects of the request's handling come from: none of them may be left in a reference cycle
REQUEST_MODULES = ("graphql.", "strawberry.", "starlette.", "uvicorn.", "subgraphs.")


@pytest.mark.parametrize("cache_size", [20_000, 0])
def test_the_passport_qr_path_leaves_no_request_garbage(tmp_path: Any, cache_size: int) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}/graphql"
    database_url = f"sqlite+aiosqlite:///{(tmp_path / 'passport.db').as_posix()}"
    uuid = demo.PASSPORTS[0].public_uuid
    services = {"catalog": unreachable, "templates": unreachable}
    with running_subgraph(
        "passport", database_url, service_urls=services, public_passport_cache_size=cache_size
    ) as server:
        host, port = server.url.split("//")[1].split(":")
        connection = http.client.HTTPConnection(host, int(port))

        def request() -> dict[str, Any]:
            body = json.dumps({"query": QR, "variables": {"uuid": uuid}})
            connection.request("POST", "/graphql", body, {"content-type": "application/json"})
            return json.loads(connection.getresponse().read())  # type: ignore[no-any-return]

        for _ in range(3):  # warm-up: the document cached, plans and builders made, pools filled
            answer = request()
        assert answer["data"]["publicPassport"]["fields"], answer
        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            assert "errors" not in request()
            gc.collect()
            left = [type(o).__module__ + "." + type(o).__qualname__ for o in gc.garbage]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
            connection.close()
    assert [name for name in left if name.startswith(REQUEST_MODULES)] == [], left


def test_an_object_loader_is_no_cycle(loop: asyncio.AbstractEventLoop) -> None:
    """Catalog's and templates' row loaders (subgraphs.common.loaders.ObjectLoader), one per request and type:
    freed by reference counting once the request lets go of them (its batch function is a closure over the
    answers, not a bound method of the loader: that was 6 objects of cyclic garbage per loader)."""

    async def rows(keys: Any) -> dict[Any, Any]:
        return {key: {"id": key} for key in keys if key != "missing"}

    async def use() -> list[Any]:
        loader = ObjectLoader(rows)
        first = await asyncio.gather(loader.load("a"), loader.load("b"), loader.load("missing"))
        return [*first, loader.get("a"), loader.get("missing")]

    gc.collect()
    gc.disable()
    try:
        answers = loop.run_until_complete(use())
        assert gc.collect() == 0
    finally:
        gc.enable()
    assert answers == [{"id": "a"}, {"id": "b"}, None, {"id": "a"}, None]
