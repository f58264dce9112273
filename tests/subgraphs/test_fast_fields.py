"""Plain data leaves completed inline (subgraphs/common/fast_fields.py) answer exactly as graphql-core's path.

The same operations run through Strawberry's executor and through :class:`FastFieldsExecutor`
on one schema built by :func:`build_schema`: data and errors (message, path, locations) are the
same, with values a type cannot coerce, nulls in non-null fields, guarded fields, resolvers,
aliases, fragments and @skip among them; and the fast path is really taken for plain leaves only.
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
from subgraphs.common.fast_fields import FAST_FIELDS, FastFieldsExecutor
from subgraphs.common.graphql import build_schema
from subgraphs.common.tags import PARTNER
from tests.subgraphs.fast_execution import CALLERS, run


@strawberry.enum
class Color(Enum):
    RED = "RED"
    BLUE = "BLUE"


@strawberry.type
class Item:
    key: str
    label: str | None
    color: Color
    value: JSON | None
    count: int
    # non-null in the schema, but the object may hold anything (as a buggy resolver could)
    broken: str
    bad_int: int | None
    secret: str | None = strawberry.field(directives=authz.requires_scopes("x:read"))

    @strawberry.field
    def shout(self) -> str:
        return self.key.upper()


@strawberry.federation.type(keys=["id"], tags=[PARTNER], directives=authz.authenticated())
class Guarded:
    id: strawberry.ID
    name: str


def _items() -> list[Item]:
    return [
        Item(key="a", label="A", color=Color.RED, value={"x": [1, 2]}, count=1, broken="ok", bad_int=3, secret="s"),  # type: ignore[arg-type]
        Item(key="b", label=None, color=Color.BLUE, value=None, count=2, broken=None, bad_int=4, secret=None),  # type: ignore[arg-type]
        Item(key="c", label="C", color="PURPLE", value=1.5, count=3, broken="ok", bad_int="x", secret="t"),  # type: ignore[arg-type]
    ]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return _items()

    @strawberry.field
    def strict_items(self) -> list[Item] | None:
        return _items()

    @strawberry.field
    async def later(self) -> list[Item]:
        return _items()[:1]

    @strawberry.field
    def guarded(self) -> Guarded | None:
        return Guarded(id=strawberry.ID("g1"), name="G")


OPERATIONS = [
    "{ items { key label value count __typename } }",
    "{ items { key label color value count shout } }",
    "{ items { k: key key label l2: label ... on Item { count color } } }",
    "{ strictItems { key broken } }",
    "{ items { key badInt } }",
    "{ items { key secret } }",
    "{ later { key value color __typename } }",
    "{ guarded { id name } }",
    "query($s: Boolean!) { items { key label @skip(if: $s) value @include(if: $s) } }",
]


VARIABLES = {"s": True}


def _run(schema: Any, executor: type, document: str, caller: Caller = ANONYMOUS) -> ExecutionResult:
    return run(schema, executor, document, caller, VARIABLES)


def _plain(result: ExecutionResult) -> tuple[Any, Any]:
    errors = sorted((e.formatted for e in result.errors or ()), key=repr)
    return result.data, errors


@pytest.mark.parametrize("caller", range(len(CALLERS)))
@pytest.mark.parametrize("document", OPERATIONS)
def test_same_answers_and_errors(document: str, caller: int) -> None:
    schema = build_schema(query=Query, types=[Guarded])
    authz.install(schema._schema)
    assert schema.execution_context_class is FastFieldsExecutor
    reference = _plain(_run(schema, StrawberryGraphQLCoreExecutionContext, document, CALLERS[caller]))
    fast = _plain(_run(schema, FastFieldsExecutor, document, CALLERS[caller]))
    assert fast == reference


def test_plain_leaves_only() -> None:
    schema = build_schema(query=Query, types=[Guarded])
    assert FAST_FIELDS not in schema._schema.extensions
    _run(schema, FastFieldsExecutor, OPERATIONS[0])
    # nothing decided before the authorization guards are installed
    assert FAST_FIELDS not in schema._schema.extensions
    authz.install(schema._schema)
    _run(schema, FastFieldsExecutor, OPERATIONS[0])
    _run(schema, FastFieldsExecutor, OPERATIONS[7], CALLERS[1])
    decided = schema._schema.extensions[FAST_FIELDS]
    # a resolver (shout) is not a plain leaf; a guarded field (secret) is, with its requirement checked inline
    assert set(decided["Item"]) == {"key", "label", "color", "value", "count", "broken", "badInt", "secret"}
    assert decided["Item"]["secret"][3] is not None and decided["Item"]["key"][3] is None
    # every field of an @authenticated type is guarded
    assert {name: leaf[3].authenticated for name, leaf in decided["Guarded"].items()} == {"id": True, "name": True}
