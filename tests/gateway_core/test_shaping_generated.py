"""The generated shaping functions (gateway/executor/shaping_codegen.py) against the interpreter and the reference.

Three implementations shape a response: the reference :class:`ResponseFormatter`, the
compiled shapes' interpreter (``shaping._object``, used once an error is reported) and
the functions generated from the same shapes (used for responses without errors). Here
every operation of the plan-snapshot corpus (tests/gateway_core/test_plans.py) and the DPP
dashboard are shaped from random raw responses typed after the operation, with nulls in
non-null positions, missing keys, values of the wrong type, helper keys, unknown and
@inaccessible enum values, unknown ``__typename`` values, and the generated function must:

- answer exactly what the interpreter answers, or give up (``_NeedPaths``) exactly when it does;
- through :func:`format_data`, answer exactly the reference's data and errors.
"""

from __future__ import annotations

import copy
import functools
import random
from pathlib import Path
from typing import Any

import orjson
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    is_abstract_type,
    is_leaf_type,
    parse,
)

from bench.dpp.workloads import DASHBOARD  # the query make bench-dpp measures
from gateway.executor import shaping
from gateway.executor.response import ResponseFormatter
from gateway.executor.shaping import CompiledShapes, format_data
from gateway.executor.shaping_codegen import compile_shape
from gateway.planner.operation import NormalizedOperation, OpSelection, normalize_operation
from gateway.supergraph.parser import HIDDEN_ENUM_VALUES, parse_supergraph

from .harness import FIXTURES
from .test_plans import CASES

ROOT = Path(__file__).resolve().parents[2]
ALIASES = """query Aliased($first: Int!, $more: Boolean!) {
  p: passports(first: $first) {
    n: totalCount
    edges { node {
      __typename i: id status s: status
      product { __typename id n: name category @include(if: $more) { name } }
      f: fields { k: key access t: type }
      ... on Passport { fields { label } values { key } }
    } }
  }
}"""


@functools.cache
def _schema(scenario: str) -> GraphQLSchema:
    path = ROOT / "schema" / "supergraph.graphql" if scenario == "dpp" else FIXTURES / scenario / "supergraph.graphql"
    return parse_supergraph(path.read_text()).api_schema


def _operation(text: str) -> NormalizedOperation:
    document = parse(text)
    definition = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return normalize_operation(document, definition)


class _Raw:
    """Random raw data for one operation: typed after it, with every kind of damage now and then."""

    def __init__(self, schema: GraphQLSchema, variables: dict[str, Any], rng: random.Random, damage: float) -> None:
        self.schema = schema
        self.rng = rng
        self.damage = damage
        self.collector = ResponseFormatter(schema, variables, [])

    def odd(self) -> bool:
        return self.rng.random() < self.damage

    def object(self, type_: GraphQLObjectType, sels: list[OpSelection], depth: int) -> dict[str, Any]:
        rng = self.rng
        out: dict[str, Any] = {}
        if rng.random() < 0.3:
            out["__typename"] = type_.name  # a helper the planner added, or the client's
        for rn, _kind, t, subs in self.collector._collect(type_, sels):
            if self.odd():
                continue  # missing: a subgraph that did not answer it
            if t is None:  # __typename or introspection
                out[rn] = type_.name if not self.odd() else rng.choice(["Nope", None])
                continue
            out[rn] = self.value(t, subs, depth)
        if self.odd():
            out["_helper"] = rng.choice([1, "key", None])  # a key field the client did not ask for
        if rng.random() < 0.2:
            items = list(out.items())
            rng.shuffle(items)  # another key order (fields merged in from an entity fetch)
            out = dict(items)
        return out

    def value(self, t: Any, sels: list[OpSelection], depth: int) -> Any:
        rng = self.rng
        if self.odd():
            return rng.choice([None, None, 7, "x", [], {}])
        if isinstance(t, GraphQLNonNull):
            return self.value(t.of_type, sels, depth)
        if isinstance(t, GraphQLList):
            if depth > 5:
                return []
            return [self.value(t.of_type, sels, depth + 1) for _ in range(rng.randint(0, 3))]
        if isinstance(t, GraphQLEnumType):
            hidden = sorted((t.extensions or {}).get(HIDDEN_ENUM_VALUES, ()))
            if self.odd():
                return rng.choice(["UNKNOWN_VALUE", *hidden, 3])
            return rng.choice(list(t.values)) if t.values else None
        if is_leaf_type(t):
            return rng.choice(["a", "b", 1, 2.5, True, {"json": [1, None]}])
        if depth > 5:
            return None
        if isinstance(t, GraphQLObjectType):
            return self.object(t, sels, depth + 1)
        assert is_abstract_type(t)
        possible = list(self.schema.get_possible_types(t))  # type: ignore[arg-type]
        concrete = rng.choice(possible)
        out = self.object(concrete, sels, depth + 1)
        out["__typename"] = concrete.name if not self.odd() else rng.choice([t.name, "Nope", None])
        return out


def _corpus() -> list[tuple[str, str, str]]:
    cases = [(name, scenario, text) for name, (scenario, text) in CASES.items()]
    return [*cases, ("dpp-dashboard", "dpp", DASHBOARD), ("dpp-aliases", "dpp", ALIASES)]


def _run_generated(root: shaping.ObjectShape, data: dict[str, Any]) -> Any:
    try:
        return (root.fn or compile_shape(root))(data)
    except shaping._NeedPaths:
        return "need paths"


def _run_interpreter(root: shaping.ObjectShape, data: dict[str, Any]) -> Any:
    try:
        return shaping._object(root, data, False)
    except shaping._NeedPaths:
        return "need paths"


@pytest.mark.parametrize(("name", "scenario", "text"), _corpus(), ids=[c[0] for c in _corpus()])
def test_generated_shaping_matches_interpreter_and_reference(name: str, scenario: str, text: str) -> None:
    schema = _schema(scenario)
    op = _operation(text)
    compiled = CompiledShapes()  # shared across iterations, as with a cached plan
    rng = random.Random(f"shaping-{name}")
    outcomes = {"clean": 0, "need paths": 0, "with errors": 0}
    for n in range(150):
        variables: dict[str, Any] = {v: rng.random() < 0.5 for v in op.variables}
        variables["first"] = 2
        root_type = schema.mutation_type if op.kind == "mutation" else schema.query_type
        assert root_type is not None
        damage = (0.0, 0.01, 0.05, 0.15)[n % 4]
        data = _Raw(schema, variables, rng, damage).object(root_type, op.selections, 0)
        data.pop("__typename", None)
        root = compiled.root(schema, op, variables)

        generated = _run_generated(root, copy.deepcopy(data))
        interpreted = _run_interpreter(root, copy.deepcopy(data))
        assert orjson.dumps(generated) == orjson.dumps(interpreted), n  # field order too, at every level

        prior: list[dict[str, Any]] = [{"message": "earlier"}] if n % 5 == 4 else []
        ref_errors = list(prior)
        expected = ResponseFormatter(schema, variables, ref_errors).format(op, copy.deepcopy(data))
        fast_errors = list(prior)
        got = format_data(schema, op, copy.deepcopy(data), variables, fast_errors, compiled)
        assert orjson.dumps(got) == orjson.dumps(expected), n
        assert fast_errors == ref_errors, n
        outcomes["with errors" if prior else "need paths" if generated == "need paths" else "clean"] += 1
    # both the generated path and the hand-over were exercised
    assert outcomes["clean"] > 10 and outcomes["with errors"] > 10, outcomes
    assert outcomes["need paths"] > 0 or not _can_need_paths(compiled.root(schema, op, {}), set()), outcomes


def _can_need_paths(shape: shaping.ObjectShape, seen: set[int]) -> bool:
    """Whether a shape (or one below it) has a non-null or enum field: something that can need an error path."""
    if id(shape) in seen:
        return False
    seen.add(id(shape))
    for _rn, kind, arg in shape.fields:
        if kind in (shaping._K_SCALAR_NN, shaping._K_OBJECT_NN, shaping._K_ENUM, shaping._K_ENUM_NN):
            return True
        if kind == shaping._K_LIST_OBJECTS and (arg[1] or arg[2] or _can_need_paths(arg[0], seen)):
            return True
        if kind == shaping._K_OBJECT and _can_need_paths(arg, seen):
            return True
        if kind == shaping._K_VALUE and _node_can_need_paths(arg, seen):
            return True
    return False


def _node_can_need_paths(node: tuple[int, Any], seen: set[int]) -> bool:
    tag, arg = node
    if tag in (shaping._T_NON_NULL, shaping._T_ENUM):
        return True
    if tag == shaping._T_LIST:
        return _node_can_need_paths(arg, seen)
    if tag == shaping._T_OBJECT:
        return _can_need_paths(arg, seen)
    if tag == shaping._T_ABSTRACT:
        schema = arg.compiler.schema
        shapes = (arg.shape_for(t.name) for t in schema.get_possible_types(arg.type))
        return any(s is not None and _can_need_paths(s, seen) for s in shapes)
    return False


def test_generated_functions_are_made_on_the_second_response_and_kept() -> None:
    schema = _schema("dpp")
    op = _operation(DASHBOARD)
    compiled = CompiledShapes()
    data = _Raw(schema, {"first": 2}, random.Random(1), 0.0).object(schema.query_type, op.selections, 0)  # type: ignore[arg-type]
    first = format_data(schema, op, data, {"first": 2}, [], compiled)
    root = compiled.root(schema, op, {"first": 2})
    assert root.fn is None and root.runs == 1  # a document sent once generates nothing
    second = format_data(schema, op, data, {"first": 2}, [], compiled)
    fn = root.fn
    assert fn is not None and orjson.dumps(first) == orjson.dumps(second)
    format_data(schema, op, data, {"first": 2}, [], compiled)
    assert root.fn is fn


def _leaf(value: Any) -> bool:
    return isinstance(value, dict) and not any(isinstance(v, dict | list) for v in value.values())


def test_only_plain_leaf_objects_are_handed_out_as_received() -> None:
    """A raw object of plain leaves with exactly the response names is its own shaped form (no copy);
    anything else (helper keys, ``__typename``, nested objects, other key order) is a new dict."""
    schema = _schema("dpp")
    op = _operation(DASHBOARD)
    field = {"key": "k", "label": "L", "type": "STRING", "access": "PUBLIC", "unit": None, "value": 1}
    reordered = {"label": "L", "key": "k", "type": "STRING", "access": "PUBLIC", "unit": None, "value": 1}
    node: dict[str, Any] = {
        "id": "p",
        "name": "n",
        "status": "DRAFT",
        "version": 1,
        "publishedVersion": None,
        "updatedAt": "t",
        "product": {"id": "x", "__typename": "Product", "name": "n", "sku": "s", "category": {"name": "c"}},
        "template": {"id": "t", "name": "n", "version": 1},
        "fields": [field, dict(field)],
        "values": [{"key": "k", "value": 1}, {"key": "k", "value": 2, "_helper": 1}],
    }
    other = {**node, "fields": [dict(field), reordered]}
    data = {"passports": {"totalCount": 2, "edges": [{"node": node}, {"node": other}]}}
    compiled = CompiledShapes()
    interpreted = format_data(schema, op, data, {"first": 2}, [], compiled)  # the first is interpreted
    out = format_data(schema, op, data, {"first": 2}, [], compiled)
    assert orjson.dumps(out) == orjson.dumps(interpreted)
    assert out is not None
    first, second = (e["node"] for e in out["passports"]["edges"])
    assert first["fields"] is node["fields"]  # every item kept: the list too
    assert first["template"] is node["template"]
    assert first["product"]["category"] is node["product"]["category"]
    assert first["product"] is not node["product"] and "__typename" not in first["product"]
    assert first is not node and out["passports"] is not data["passports"]
    assert first["values"] is not node["values"] and first["values"][1] == {"key": "k", "value": 2}
    # one item in another key order: the list is rebuilt, in the client's order
    assert second["fields"] is not other["fields"] and list(second["fields"][1]) == list(field)
    assert orjson.dumps(out) == orjson.dumps(ResponseFormatter(schema, {"first": 2}, []).format(op, data))
    # what is handed out as received is only ever a dict of leaves
    for shaped, raw in ((first, node), (second, other)):
        for key, value in shaped.items():
            if value is raw[key] and isinstance(value, dict):
                assert _leaf(value)
