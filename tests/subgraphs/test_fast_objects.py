"""Objects and lists of objects completed the short way (subgraphs/common/fast_fields.py) answer as graphql-core does.

The same documents run through Strawberry's executor and through :class:`FastFieldsExecutor` on one
schema built by :func:`build_schema`, as three callers: data and errors (message, path, locations)
must be equal. The documents cover plain object fields and lists of them (data, no resolver), lists
returned by resolvers, nulls in non-null lists, items and fields, items that are errors or
awaitables, resolvers that raise (sync and async) inside list items, guarded object fields, types
with ``is_type_of`` (an interface), aliases, ``__typename``, fragments, variables and
``@include``/``@skip``. The short way must really be taken: the executor's ``execute_field`` runs
only for fields with resolvers.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import pytest
import strawberry
from graphql import ExecutionResult
from strawberry.scalars import JSON
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from subgraphs.common import authz
from subgraphs.common.caller import ANONYMOUS, Caller
from subgraphs.common.fast_fields import FastFieldsExecutor
from subgraphs.common.graphql import build_schema
from subgraphs.common.tags import PARTNER
from tests.subgraphs.fast_execution import CALLERS, run


@strawberry.enum
class Level(Enum):
    LOW = "low"
    HIGH = "high"


@strawberry.type
class Leaf:
    key: str
    level: Level
    value: JSON | None
    size: int | None
    flag: bool
    tags: list[str] | None

    @strawberry.field
    def loud(self) -> str:
        if self.key == "boom":
            raise ValueError("loud failed")
        return self.key.upper()

    @strawberry.field
    async def later(self) -> str | None:
        if self.key == "boom":
            raise ValueError("later failed")
        return self.key + "!"


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Person(Named):
    age: int


@strawberry.type
class Box:
    id: strawberry.ID
    # plain object fields: data, read with getattr
    first: Leaf | None
    required: Leaf
    leaves: list[Leaf]
    maybe_leaves: list[Leaf | None] | None
    people: list[Person]
    secret_leaves: list[Leaf] | None = strawberry.field(directives=authz.requires_scopes("x:read"))

    @strawberry.field
    def made(self) -> list[Leaf]:
        return list(self.leaves)

    @strawberry.field
    async def made_later(self) -> list[Leaf] | None:
        return list(self.leaves)

    @strawberry.field
    def named(self) -> list[Named]:
        return list(self.people)

    @strawberry.field
    def pick(self, info: strawberry.Info, index: int = 0) -> Leaf | None:
        assert info.field_name == "pick"
        return self.leaves[index] if index < len(self.leaves) else None


@strawberry.federation.type(keys=["id"], tags=[PARTNER], directives=authz.authenticated())
class Vault:
    id: strawberry.ID
    boxes: list[Box]

    @strawberry.field
    def count(self) -> int:
        return len(self.boxes)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Vault:
        return cls(id=id, boxes=[_box(str(id))])


def _leaf(key: str, **overrides: Any) -> Leaf:
    values: dict[str, Any] = {
        "key": key,
        "level": Level.LOW,
        "value": {"k": [1, key]},
        "size": len(key),
        "flag": True,
        "tags": [key, "t"],
    }
    values.update(overrides)
    return Leaf(**values)


def _leaves() -> list[Leaf]:
    return [
        _leaf("a"),
        _leaf("b", level=Level.HIGH, value=None, size=None, tags=None),
        _leaf("boom", flag=False),
        _leaf("c", size=2**40),  # out of Int's range: an error for that field only
        _leaf("d", level="MEDIUM"),  # not a member: the enum refuses it
    ]


async def _coro(value: Any) -> Any:
    return value


class _Later:
    """An awaitable list item (no coroutine until awaited: no warning when a document does not ask)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Any:
        return _coro(self.value).__await__()


def _box(name: str, *, broken: bool = False) -> Box:
    leaves = _leaves()
    maybe: list[Any] = [leaves[0], None, leaves[1]]
    required: Any = None if broken else leaves[0]
    if broken:
        maybe = [leaves[0], ValueError("item failed"), _Later(leaves[1]), leaves[3], leaves[4], _Later(leaves[2])]
        leaves = [leaves[0], None, leaves[1]]  # type: ignore[list-item]  # a null in a non-null list
    return Box(
        id=strawberry.ID(name),
        first=leaves[0] if name != "empty" else None,
        required=required,
        leaves=leaves,
        maybe_leaves=maybe,
        people=[Person(name="p", age=3), Person(name="q", age=4)],
        secret_leaves=_leaves()[:2],
    )


@strawberry.type
class Query:
    @strawberry.field
    def boxes(self) -> list[Box]:
        return [_box("one"), _box("empty")]

    @strawberry.field
    def broken_boxes(self) -> list[Box | None] | None:
        return [_box("broken", broken=True), _box("ok")]

    @strawberry.field
    async def later_boxes(self) -> list[Box]:
        return [_box("later")]

    @strawberry.field
    def vault(self) -> Vault | None:
        return Vault(id=strawberry.ID("v1"), boxes=[_box("vaulted")])


LEAF = "key level value size flag tags __typename"
OPERATIONS = [
    f"{{ boxes {{ id first {{ {LEAF} }} leaves {{ {LEAF} }} }} }}",
    f"{{ boxes {{ required {{ key }} made {{ {LEAF} loud }} }} }}",
    "{ boxes { leaves { key later } madeLater { key later } } }",
    f"{{ brokenBoxes {{ id maybeLeaves {{ {LEAF} }} }} }}",
    "{ brokenBoxes { id leaves { key } } }",
    "{ brokenBoxes { id required { key } } }",
    "{ laterBoxes { __typename x: id leaves { k: key k2: key ...L } } } fragment L on Leaf { level size }",
    "{ boxes { people { name age __typename } named { name __typename ... on Person { age } } } }",
    "{ boxes { secretLeaves { key } } vault { id count boxes { id leaves { key } } } }",
    "{ boxes { pick(index: 1) { key level } p2: pick { key } p9: pick(index: 9) { key } } }",
    "query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Vault { id count boxes { id } } } }",
    "query($s: Boolean!) { boxes { leaves { key @skip(if: $s) size @include(if: $s) } first @skip(if: $s) { key } } }",
    "{ boxes { leaves { key } } b: boxes { leaves { size } } }",
]


class _Counting(FastFieldsExecutor):
    """Counts graphql-core's per-field calls (execute_field) by field name."""

    calls: list[str] = []

    def execute_field(self, parent_type: Any, source: Any, field_details_list: Any, path: Any, position: Any) -> Any:
        type(self).calls.append(field_details_list[0].node.name.value)
        return super().execute_field(parent_type, source, field_details_list, path, position)


def _schema() -> Any:
    schema = build_schema(query=Query, types=[Vault, Person])
    authz.install(schema._schema)
    return schema


VARIABLES = {"s": True, "r": [{"__typename": "Vault", "id": "v1"}, {"__typename": "Vault", "id": "v2"}]}


def _run(schema: Any, executor: type, document: str, caller: Caller = ANONYMOUS) -> ExecutionResult:
    return run(schema, executor, document, caller, VARIABLES)


def _plain(result: ExecutionResult) -> tuple[Any, Any]:
    # in the order they were reported: the short way reports at the same moments as graphql-core
    return result.data, [e.formatted for e in result.errors or ()]


@pytest.fixture(scope="module")
def schema() -> Any:
    return _schema()


@pytest.mark.parametrize("caller", range(len(CALLERS)))
@pytest.mark.parametrize("document", OPERATIONS)
def test_same_answers_and_errors(schema: Any, document: str, caller: int) -> None:
    reference = _plain(_run(schema, StrawberryGraphQLCoreExecutionContext, document, CALLERS[caller]))
    fast = _plain(_run(schema, FastFieldsExecutor, document, CALLERS[caller]))
    assert fast == reference
    assert fast[0] is not None or fast[1]  # something was answered or reported


def test_errors_are_exercised(schema: Any) -> None:
    """The documents above do reach the error paths (else the comparison proves little)."""
    _data, errors = _plain(_run(schema, FastFieldsExecutor, OPERATIONS[3]))
    messages = " | ".join(e["message"] for e in errors)
    assert "item failed" in messages and "Int cannot represent" in messages and "MEDIUM" in messages
    _data, errors = _plain(_run(schema, FastFieldsExecutor, OPERATIONS[4]))
    assert any("non-nullable" in e["message"] for e in errors)


def test_only_resolvers_strawberry_must_call_take_execute_field(schema: Any) -> None:
    _Counting.calls = []
    _run(schema, _Counting, OPERATIONS[0])
    # the leaves that need reporting (size out of range, an enum value it refuses), and lists of
    # leaves (tags: graphql-core completes them); the root's plain method (boxes) is called directly
    assert set(_Counting.calls) <= {"size", "level", "tags"}
    _Counting.calls = []
    _run(schema, _Counting, OPERATIONS[1])
    assert set(_Counting.calls) <= {"tags", "size", "level"}
    # async resolvers (later, madeLater) are Strawberry's to call
    _Counting.calls = []
    _run(schema, _Counting, OPERATIONS[2])
    assert set(_Counting.calls) == {"later", "madeLater"}
