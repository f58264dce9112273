"""``_entities`` completed in one loop (subgraphs/common/fast_abstract.py) answers as graphql-core does.

The same documents run through Strawberry's executor and through :class:`FastFieldsExecutor`, as
three callers: data and errors (message, path, locations, in the order reported) must be equal.
The representations mix several entity types: async ``resolve_reference`` through a real
dataloader, sync ones, a type without ``resolve_reference`` (Strawberry builds it from the
representation), missing entities (null), ``resolve_reference`` raising (sync and async), one
returning an object Strawberry cannot place in ``_Entity`` (its union error), an item that
yields to the loop, an item whose fields resolve asynchronously, a null in a non-null field, and
an ``@authenticated`` type. The short way must really be taken: no ``complete_abstract_value``
and no per-item ``complete_awaitable_list_item_value``, and the dataloader still gets one batch.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import pytest
import strawberry
from aiodataloader import DataLoader
from graphql import ExecutionResult
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from subgraphs.common import authz
from subgraphs.common.caller import ANONYMOUS, Caller
from subgraphs.common.fast_fields import FastFieldsExecutor
from subgraphs.common.graphql import build_schema
from subgraphs.common.tags import PARTNER
from tests.subgraphs.fast_execution import CALLERS, run

BATCHES: list[list[str]] = []


async def _load_shelves(keys: list[str]) -> list[Any]:
    BATCHES.append(list(keys))
    await asyncio.sleep(0)
    return [None if key.startswith("missing") else key for key in keys]


_LOADERS: dict[int, DataLoader] = {}


def _loader(info: strawberry.Info) -> DataLoader:
    key = id(info.context)
    if key not in _LOADERS:
        _LOADERS.clear()
        _LOADERS[key] = DataLoader(batch_load_fn=_load_shelves)
    return _LOADERS[key]


class NotAnEntity:
    """What a buggy resolve_reference could return: no Strawberry type."""

    id = "x"


@strawberry.type
class Note:
    """A Strawberry type that is no entity: not a member of ``_Entity``."""

    text: str


@strawberry.federation.type(keys=["id"], tags=[PARTNER])
class Label:
    id: strawberry.ID
    text: str


@strawberry.federation.type(keys=["id"], tags=[PARTNER])
class Shelf:
    id: strawberry.ID
    name: str
    title: str  # non-null; None for some shelves

    @strawberry.field
    async def later(self) -> str:
        await asyncio.sleep(0)
        if self.id == "late-boom":
            raise ValueError("later failed")
        return self.name + "!"

    @strawberry.field
    async def label(self) -> Label | None:
        return Label(id=strawberry.ID("l-" + self.id), text=self.name)

    @classmethod
    async def resolve_reference(cls, info: strawberry.Info, id: strawberry.ID) -> Any:
        if id == "boom":
            raise ValueError("shelf exploded")
        if id == "yields":
            await asyncio.sleep(0)
        if id == "wrong":
            return NotAnEntity()
        if id == "note":
            return Note(text="not an entity")
        if id == "label":
            return Label(id=id, text="a label where a shelf was asked")
        row = await _loader(info).load(str(id))
        if row is None:
            return None
        return cls(id=id, name="shelf " + row, title=None if row.startswith("untitled") else row)  # type: ignore[arg-type]


@strawberry.federation.type(keys=["id"], tags=[PARTNER])
class Tag:
    id: strawberry.ID
    label: str

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Tag | None:
        if id == "bad":
            raise ValueError("tag refused")
        if id == "none":
            return None
        return cls(id=id, label="tag " + id)


@strawberry.federation.type(keys=["id"], tags=[PARTNER])
class Crate:
    id: strawberry.ID
    size: int | None = None


@strawberry.federation.type(keys=["id"], tags=[PARTNER], directives=authz.authenticated())
class Safe:
    id: strawberry.ID
    code: str

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Safe:
        return cls(id=id, code="c-" + id)


Thing = Annotated[Shelf | Tag, strawberry.union("Thing")]


async def _thing(id_: str, pause: int) -> Any:
    for _ in range(pause):
        await asyncio.sleep(0)
    if id_ == "null":
        return None
    return Tag(id=strawberry.ID(id_), label="tag " + id_)


@strawberry.type
class Query:
    @strawberry.field
    def things(self) -> list[Thing] | None:
        """Non-null items: a null one nulls the list while the others are still running."""
        return [_thing("a", 1), Tag(id=strawberry.ID("b"), label="b"), _thing("null", 0), _thing("c", 5)]  # type: ignore[list-item]

    @strawberry.field
    def maybe_things(self) -> list[Thing | None]:
        return [_thing("a", 1), None, _thing("null", 0), Tag(id=strawberry.ID("b"), label="b"), _thing("c", 3)]  # type: ignore[list-item]

    @strawberry.field
    def shelf(self) -> Shelf | None:
        return None

    @strawberry.field
    def tag(self) -> Tag | None:
        return None

    @strawberry.field
    def crate(self) -> Crate | None:
        return None

    @strawberry.field
    def safe(self) -> Safe | None:
        return None

    @strawberry.field
    def note(self) -> Note | None:
        return None


def _reps(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"__typename": typename, "id": id_} for typename, id_ in pairs]


MIXED = _reps(
    ("Shelf", "s1"),
    ("Tag", "t1"),
    ("Shelf", "missing-1"),
    ("Crate", "c1"),
    ("Shelf", "boom"),
    ("Tag", "bad"),
    ("Shelf", "yields"),
    ("Tag", "none"),
    ("Shelf", "wrong"),
    ("Shelf", "note"),
    ("Shelf", "label"),
    ("Safe", "k1"),
    ("Shelf", "untitled-2"),
    ("Shelf", "late-boom"),
    ("Shelf", "s1"),
)
ALL = "__typename ... on Shelf { id name later label { id text } } ... on Tag { id label } ... on Crate { id size }"
OPERATIONS: list[tuple[str, list[dict[str, str]]]] = [
    (f"query($r: [_Any!]!) {{ _entities(representations: $r) {{ {ALL} ... on Safe {{ id code }} }} }}", MIXED),
    ("query($r: [_Any!]!) { _entities(representations: $r) { ... on Shelf { id title } } }", MIXED),
    ("query($r: [_Any!]!) { _entities(representations: $r) { ... on Tag { id label } } }", MIXED),
    (
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on Shelf { name } ... on Tag { label } } }",
        _reps(*((("Shelf", f"s{i}") if i % 3 else ("Tag", f"t{i}")) for i in range(50))),
    ),
    (
        "query($r: [_Any!]!) { e: _entities(representations: $r) { __typename ... on Safe { id code } } "
        "f: _entities(representations: $r) { ... on Safe { code } } }",
        _reps(("Safe", "k1"), ("Safe", "k2")),
    ),
    ("query($r: [_Any!]!) { _entities(representations: $r) { ... on Crate { id size } } }", _reps(("Crate", "c9"))),
    ("{ things { __typename ... on Tag { id label } } }", []),
    ("{ maybeThings { __typename ... on Tag { id label } } }", []),
]


def _run(schema: Any, executor: type, document: str, reps: list[Any], caller: Caller = ANONYMOUS) -> ExecutionResult:
    return run(schema, executor, document, caller, {"r": reps})


def _plain(result: ExecutionResult) -> tuple[Any, Any]:
    return result.data, [e.formatted for e in result.errors or ()]  # in the order reported


@pytest.fixture(scope="module")
def schema() -> Any:
    built = build_schema(query=Query, types=[Shelf, Tag, Crate, Safe, Label])
    authz.install(built._schema)
    return built


@pytest.mark.parametrize("caller", range(len(CALLERS)))
@pytest.mark.parametrize("operation", range(len(OPERATIONS)))
def test_same_answers_and_errors(schema: Any, operation: int, caller: int) -> None:
    document, reps = OPERATIONS[operation]
    reference = _plain(_run(schema, StrawberryGraphQLCoreExecutionContext, document, reps, CALLERS[caller]))
    fast = _plain(_run(schema, FastFieldsExecutor, document, reps, CALLERS[caller]))
    assert fast == reference
    assert fast[0] is not None or fast[1]  # something was answered or reported


def test_errors_are_exercised(schema: Any) -> None:
    """The mixed document reaches every error path (else the comparison proves little)."""
    data, errors = _plain(_run(schema, FastFieldsExecutor, OPERATIONS[0][0], MIXED, CALLERS[2]))
    messages = " | ".join(e["message"] for e in errors)
    for expected in ("shelf exploded", "tag refused", "later failed", "cannot be resolved", "Note"):
        assert expected in messages
    entities = data["_entities"]  # type: ignore[index]
    assert entities[2] is None and entities[7] is None  # missing entities are null
    assert entities[0]["later"] == "shelf s1!" and entities[10]["__typename"] == "Label"
    _data, errors = _plain(_run(schema, FastFieldsExecutor, OPERATIONS[1][0], MIXED))
    assert any("non-nullable" in e["message"] for e in errors)


class _Counting(FastFieldsExecutor):
    calls: list[str] = []

    def complete_abstract_value(self, *args: Any) -> Any:
        type(self).calls.append("complete_abstract_value")
        return super().complete_abstract_value(*args)

    def complete_awaitable_list_item_value(self, *args: Any) -> Any:
        type(self).calls.append("complete_awaitable_list_item_value")
        return super().complete_awaitable_list_item_value(*args)


def test_one_loop_one_batch(schema: Any) -> None:
    _Counting.calls = []
    BATCHES.clear()
    document, reps = OPERATIONS[3]
    result = _run(schema, _Counting, document, reps, CALLERS[1])
    assert not result.errors and len(result.data["_entities"]) == 50  # type: ignore[index]
    assert _Counting.calls == []
    assert len(BATCHES) == 1 and len(BATCHES[0]) == 33  # every shelf loaded in one batch
