"""Differences found by sending the same random valid operations to this gateway and to Apollo Gateway.

Each test is a regression test in our own words for one finding (issue 8), on the ``skipfetch``
scenario: ``items`` serves ``Query.item``, ``details`` adds ``Item.detail`` and ``Item.owner``,
``owners`` adds ``Owner.name``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import Scenario, SubgraphServer, run, start_scenario


@pytest.fixture(scope="module")
def scenario(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    yield start_scenario(subgraph_server, "skipfetch", {
        "items": {"fields": {"Query.item": lambda _s: {"id": "i1"}}},
        "details": {"entities": {"Item": lambda rep: {"id": rep["id"], "detail": "fragile", "owner": {"id": "o1"}}}},
        "owners": {"entities": {"Owner": lambda rep: {"id": rep["id"], "name": "Olga"}}},
    })


# -- a variable used only by a condition on a fragment at the operation's root ----------------------

ROOT_FRAGMENT = "query ($v: Boolean!) { ... @include(if: $v) { item { id } } }"


async def test_root_fragment_condition_variable_is_declared_in_the_subgraph_request(scenario: Scenario) -> None:
    scenario.reset()
    body = await run(scenario.gateway(), ROOT_FRAGMENT, {"v": True})
    assert body == {"data": {"item": {"id": "i1"}}}
    [request] = scenario.subgraphs["items"].requests
    assert "$v:Boolean!" in request["query"]
    assert request["variables"] == {"v": True}


async def test_root_fetch_is_not_sent_when_every_root_field_is_excluded(scenario: Scenario) -> None:
    scenario.reset()
    body = await run(scenario.gateway(), ROOT_FRAGMENT, {"v": False})
    assert body == {"data": {}}
    assert scenario.subgraphs["items"].requests == []


def test_root_fetch_under_a_root_fragment_condition_is_planned_as_conditional(scenario: Scenario) -> None:
    assert scenario.gateway().plan_text(ROOT_FRAGMENT) == "\n".join([
        "QueryPlan {",
        "  Include(if: $v) {",
        '    Fetch(service: "items") {',
        "      {",
        "        ... @include(if: $v) {",
        "          item {",
        "            id",
        "          }",
        "        }",
        "      }",
        "    }",
        "  },",
        "}",
    ])



def test_dpp_supergraph_declares_the_root_fragment_variable() -> None:
    # the operation the differential run found, planned on our DPP supergraph
    from gateway.planner.nodes import FetchNode
    from gateway.runtime import Gateway

    sdl = (Path(__file__).parents[2] / "schema" / "supergraph.graphql").read_text()
    prepared = Gateway.from_supergraph_sdl(sdl).prepare(
        "query ($v: Boolean!) { ... @include(if: $v) { users { totalCount } } }", None)
    assert prepared.errors == ()
    assert isinstance(prepared.plan, FetchNode)
    assert prepared.plan.operation == "query($v:Boolean!){... @include(if: $v){users{totalCount}}}"
    assert prepared.plan.variable_usages == ("v",)
    assert prepared.plan.conditions == (("include", "v"),)

# -- introspection root fields inside fragments on Query ---------------------------------------------


async def test_type_through_an_inline_fragment_on_query_is_answered(scenario: Scenario) -> None:
    body = await run(scenario.gateway(), '{ ... on Query { __type(name: "String") { name } } }')
    assert body == {"data": {"__type": {"name": "String"}}}


async def test_introspection_in_a_named_fragment_beside_a_subgraph_field(scenario: Scenario) -> None:
    body = await run(scenario.gateway(),
                     'query { ...Both } fragment Both on Query { item { id } __type(name: "Item") { kind } }')
    assert body == {"data": {"item": {"id": "i1"}, "__type": {"kind": "OBJECT"}}}


@pytest.mark.parametrize("included", [True, False])
async def test_schema_inside_an_included_fragment_follows_its_condition(scenario: Scenario, included: bool) -> None:
    query = "query ($v: Boolean!) { ... @include(if: $v) { __schema { queryType { name } } } }"
    body = await run(scenario.gateway(), query, {"v": included})
    assert body == {"data": {"__schema": {"queryType": {"name": "Query"}}} if included else {}}


# -- the same introspection field selected directly and through a fragment ---------------------------


async def test_type_selected_twice_merges_both_selections(scenario: Scenario) -> None:
    # the spec's field collection merges the two `__type` selections into one field with both
    # sub-selections (Apollo Gateway answers with one of them only)
    query = '{ __type(name: "Item") { name } ... on Query { __type(name: "Item") { kind } } }'
    body = await run(scenario.gateway(), query)
    assert body == {"data": {"__type": {"name": "Item", "kind": "OBJECT"}}}


async def test_type_selected_twice_keeps_the_document_order_of_its_fields(scenario: Scenario) -> None:
    query = ('query { ...K __type(name: "Item") { name fields { name } } } '
             'fragment K on Query { __type(name: "Item") { kind name } }')
    body = await run(scenario.gateway(), query)
    assert body == {"data": {"__type": {"kind": "OBJECT", "name": "Item",
                                        "fields": [{"name": "id"}, {"name": "detail"}, {"name": "owner"}]}}}
    assert list(body["data"]["__type"]) == ["kind", "name", "fields"]


# -- an explicit null for a condition variable with a default ----------------------------------------


@pytest.mark.parametrize("query", [
    "query ($v: Boolean = true) { item { id detail @include(if: $v) } }",
    "query ($v: Boolean = false) { ... @skip(if: $v) { item { id } } }",
    'query ($v: Boolean = true) { __type(name: "Item") @include(if: $v) { name } }',
])
async def test_explicit_null_for_a_condition_variable_is_a_request_error(scenario: Scenario, query: str) -> None:
    # the default applies only to a variable left out; an explicit null reaches the non-null
    # `if` argument, which the spec refuses before execution
    scenario.reset()
    body = await run(scenario.gateway(), query, {"v": None})
    assert "data" not in body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "$v" in error["message"] and "null" in error["message"]
    assert error["locations"]
    assert all(not app.requests for app in scenario.subgraphs.values())


async def test_condition_variable_left_out_takes_its_default(scenario: Scenario) -> None:
    body = await run(scenario.gateway(), "query ($v: Boolean = true) { item { id detail @include(if: $v) } }", {})
    assert body == {"data": {"item": {"id": "i1", "detail": "fragile"}}}


# -- introspection speaks the released spec; every validation error says where ---------------------

RELEASED_DIRECTIVE_LOCATIONS = [
    "QUERY", "MUTATION", "SUBSCRIPTION", "FIELD", "FRAGMENT_DEFINITION", "FRAGMENT_SPREAD", "INLINE_FRAGMENT",
    "VARIABLE_DEFINITION", "SCHEMA", "SCALAR", "OBJECT", "FIELD_DEFINITION", "ARGUMENT_DEFINITION", "INTERFACE",
    "UNION", "ENUM", "ENUM_VALUE", "INPUT_OBJECT", "INPUT_FIELD_DEFINITION", "DIRECTIVE_DEFINITION",
]


@pytest.mark.parametrize("query", [
    '{ __type(name: "__DirectiveLocation") { enumValues { name } } }',
    '{ __type(name: "__DirectiveLocation") { enumValues(includeDeprecated: true) { name } } }',
    '{ __schema { types { name enumValues { name } } } }',
])
async def test_directive_locations_are_those_of_the_released_spec(scenario: Scenario, query: str) -> None:
    # FRAGMENT_VARIABLE_DEFINITION belongs to the fragment-arguments proposal, not to a released spec
    body = await run(scenario.gateway(), query)
    assert "errors" not in body
    if "__type" in body["data"]:
        values = body["data"]["__type"]["enumValues"]
    else:
        [location] = [t for t in body["data"]["__schema"]["types"] if t["name"] == "__DirectiveLocation"]
        values = location["enumValues"]
    assert [v["name"] for v in values] == RELEASED_DIRECTIVE_LOCATIONS


@pytest.mark.parametrize(("query", "operation_name", "locations"), [
    ("query A { item { id } }\nquery B { item { id } }", None, [{"line": 1, "column": 1}, {"line": 2, "column": 1}]),
    ("query A { item { id } }\n\n  query B { item { id } }", "C", [{"line": 1, "column": 1}, {"line": 3, "column": 3}]),
])
async def test_operation_selection_errors_carry_locations(scenario: Scenario, query: str, operation_name: str | None,
                                                          locations: list[dict[str, int]]) -> None:
    body = await run(scenario.gateway(), query, operation_name=operation_name)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["locations"] == locations
