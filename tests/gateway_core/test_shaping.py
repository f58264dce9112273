"""The compiled response shaping (fast path) answers exactly what the reference formatter answers.

Random data trees, with nulls, wrong types, unknown enum values and unknown
``__typename`` values sprinkled in, are shaped both ways for operations that use
aliases, fragments on interfaces and unions, lists of lists and @skip/@include; data
and errors must be equal, with and without an error already reported.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import orjson
import pytest
from graphql import OperationDefinitionNode, build_schema, parse

from gateway.executor.response import ResponseFormatter
from gateway.executor.shaping import CompiledShapes, format_data
from gateway.planner.operation import normalize_operation
from gateway.supergraph.parser import HIDDEN_ENUM_VALUES

SCHEMA = build_schema(
    """
    enum Color { RED GREEN }
    interface Node { id: ID! }
    type Book implements Node { id: ID! title: String! color: Color tags: [String!] author: Author }
    type Author implements Node { id: ID! name: String books: [Book!]! best: Book! grid: [[Int]] }
    union Item = Book | Author
    type Query {
      node: Node
      nodes: [Node]!
      items: [Item!]
      books: [Book]
      author: Author!
      colors: [Color!]
      count: Int!
    }
    """
)

OPERATIONS = [
    """query Q($withAuthor: Boolean = true, $skipTitle: Boolean = false) {
      count
      author { id name best { title @skip(if: $skipTitle) color } grid books { id tags } }
      books { id t: title author @include(if: $withAuthor) { name } }
      node { __typename id ... on Book { title color } ... on Author { name } }
      nodes { id ...F }
      items { __typename ... on Book { title } ... on Node { id } ... on Author { best { id } } }
      colors
    }
    fragment F on Book { title tags author { id } }""",
    "{ author { books { title color author { books { id } } } } count }",
]

_TYPENAMES = ["Book", "Author", "Nope", None, 3]


def _value(rng: random.Random, depth: int) -> Any:
    """Random JSON-ish values, mostly objects and lists, occasionally the wrong thing."""
    r = rng.random()
    if r < 0.08:
        return None
    if r < 0.12:
        return rng.choice(["RED", "GREEN", "BLUE", 7, "x"])
    if depth > 3 or r < 0.3:
        return rng.choice(["a", "b", 1, 2, True, "RED", "GREEN"])
    if r < 0.55:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return _object(rng, depth + 1)


def _object(rng: random.Random, depth: int) -> dict[str, Any]:
    keys = ["id", "title", "t", "name", "color", "tags", "author", "books", "best", "grid"]
    out: dict[str, Any] = {}
    if rng.random() < 0.9:
        out["__typename"] = rng.choice(_TYPENAMES)
    for k in keys:
        if rng.random() < 0.7:
            out[k] = _value(rng, depth + 1)
    # well-formed values most of the time, so that deep shapes are reached
    if rng.random() < 0.7:
        out["id"] = f"id{rng.randint(1, 9)}"
    if rng.random() < 0.7:
        out["books"] = [_object(rng, depth + 1) for _ in range(rng.randint(0, 2))] if depth < 4 else []
    if rng.random() < 0.6 and depth < 4:
        out["best"] = _object(rng, depth + 1)
    if rng.random() < 0.5:
        out["grid"] = [[1, None], None, [2]]
    return out


def _root(rng: random.Random) -> dict[str, Any]:
    return {
        "count": rng.choice([1, None, 2]),
        "author": _object(rng, 0) if rng.random() < 0.9 else None,
        "books": [_object(rng, 1) for _ in range(rng.randint(0, 3))],
        "node": _object(rng, 1),
        "nodes": [_object(rng, 1) if rng.random() < 0.9 else None for _ in range(rng.randint(0, 3))],
        "items": [_object(rng, 1) for _ in range(rng.randint(0, 3))],
        "colors": rng.choice([["RED", "GREEN"], ["RED", "BLUE"], None, ["RED", None]]),
    }


@pytest.mark.parametrize("text", OPERATIONS)
def test_fast_shaping_matches_reference(text: str) -> None:
    document = parse(text)
    definition = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    op = normalize_operation(document, definition)
    compiled = CompiledShapes()  # shared across iterations, as with a cached plan
    rng = random.Random(20261121)
    checked_errors = 0
    for n in range(400):
        data = _root(rng)
        variables = {"withAuthor": n % 3 != 0, "skipTitle": n % 4 == 0}
        prior: list[dict[str, Any]] = [{"message": "earlier"}] if n % 5 == 0 else []
        ref_errors = list(prior)
        expected = ResponseFormatter(SCHEMA, variables, ref_errors).format(op, copy.deepcopy(data))
        fast_errors = list(prior)
        got = format_data(SCHEMA, op, copy.deepcopy(data), variables, fast_errors, compiled)
        assert orjson.dumps(got) == orjson.dumps(expected), n  # field order too, at every level
        assert fast_errors == ref_errors, n
        checked_errors += len(ref_errors) > len(prior)
    assert checked_errors > 10  # the error paths were exercised, not only clean answers


# Enum fields of list items are completed inline by the fast path (_K_ENUM / _K_ENUM_NN):
# non-null and nullable enums, unknown values, values of the wrong type and an @inaccessible value.
ENUM_SCHEMA = build_schema(
    """
    enum Access { PUBLIC RESTRICTED }
    type Field { key: String! access: Access! level: Access unit: String }
    type Passport { id: ID! status: Access! fields: [Field!]! extra: [Field] }
    type Query { passports: [Passport!] }
    """
)
ENUM_SCHEMA.type_map["Access"].extensions = {HIDDEN_ENUM_VALUES: frozenset({"HIDDEN"})}
_ENUM_VALUES = ["PUBLIC", "RESTRICTED", "PUBLIC", "RESTRICTED", None, "HIDDEN", "NOPE", 3, ["PUBLIC"]]


def _enum_value(rng: random.Random) -> Any:
    return rng.choice(_ENUM_VALUES) if rng.random() < 0.2 else rng.choice(_ENUM_VALUES[:2])


def _enum_field(rng: random.Random) -> dict[str, Any]:
    f: dict[str, Any] = {"key": rng.choice(["k", "k", "k", "k", "k", None]), "access": _enum_value(rng)}
    if rng.random() < 0.8:
        f["level"] = _enum_value(rng)
    f["unit"] = rng.choice(["kg", None])
    return f


def _enum_root(rng: random.Random) -> dict[str, Any]:
    passports = []
    for _ in range(rng.randint(0, 3)):
        p: dict[str, Any] = {"id": "p", "status": rng.choice([*_ENUM_VALUES[:5], "HIDDEN"])}
        p["fields"] = [_enum_field(rng) for _ in range(rng.randint(0, 3))]
        if rng.random() < 0.5:
            p["extra"] = [_enum_field(rng) if rng.random() < 0.8 else None for _ in range(rng.randint(0, 2))]
        passports.append(p)
    return {"passports": passports if rng.random() < 0.95 else None}


@pytest.mark.parametrize(
    "text",
    [
        "{ passports { id status fields { key access level unit } extra { access level } } }",
        # aliases: the subgraph's data is keyed by response name (renamed in the generated data below)
        "{ passports { s: status fields { a: access key l: level } } }",
    ],
)
def test_fast_shaping_of_enums_matches_reference(text: str) -> None:
    document = parse(text)
    definition = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    op = normalize_operation(document, definition)
    compiled = CompiledShapes()
    rng = random.Random(20261206)
    checked_errors = clean = 0
    for n in range(600):
        data = _enum_root(rng)
        if " s: " in text:
            data = orjson.loads(
                orjson.dumps(data).replace(b'"status"', b'"s"').replace(b'"access"', b'"a"').replace(b'"level"', b'"l"')
            )
        prior: list[dict[str, Any]] = [{"message": "earlier"}] if n % 5 == 0 else []
        ref_errors = list(prior)
        expected = ResponseFormatter(ENUM_SCHEMA, {}, ref_errors).format(op, copy.deepcopy(data))
        fast_errors = list(prior)
        got = format_data(ENUM_SCHEMA, op, copy.deepcopy(data), {}, fast_errors, compiled)
        assert orjson.dumps(got) == orjson.dumps(expected), n
        assert fast_errors == ref_errors, n
        checked_errors += len(ref_errors) > len(prior)
        clean += not ref_errors and bool(expected and expected["passports"])
    assert checked_errors > 10 and clean > 10
