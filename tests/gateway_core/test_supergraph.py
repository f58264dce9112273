"""Supergraph parsing and API schema derivation."""

from __future__ import annotations

import pytest
from graphql import print_schema

from gateway.contracts import GraphQLRequest
from gateway.runtime import Gateway
from gateway.supergraph import SupergraphError, parse_supergraph
from gateway.transport import HTTPTransport

from .harness import FIXTURES

API_SDL = '''input Filter {
  kind: Kind
}

enum Kind {
  GOOD
  UGLY @deprecated(reason: "nope")
}

"""The root"""
type Query {
  """Find things"""
  things(filter: Filter): [Thing] @deprecated(reason: "use search")
  search(by: SearchBy!): [Thing]
}

input SearchBy @oneOf {
  id: ID
  name: String
}

"""A thing"""
type Thing {
  id: ID!
  url: URL
  kind: Kind
}

scalar URL @specifiedBy(url: "https://tools.ietf.org/html/rfc3986")'''


def _sdl(name: str) -> str:
    return (FIXTURES / name / "supergraph.graphql").read_text()


def test_api_schema_hides_machinery_and_inaccessible_but_keeps_metadata() -> None:
    sg = parse_supergraph(_sdl("apischema"))
    assert print_schema(sg.api_schema) == API_SDL


async def test_api_schema_introspection_shows_one_of_specified_by_and_deprecations() -> None:
    # Through the gateway's own introspection path, which must hold even when Strawberry
    # (which patches graphql-core's shared __Type.isOneOf) was imported in this process.
    import strawberry

    @strawberry.type
    class Q:
        x: int

    strawberry.Schema(query=Q)
    gateway = Gateway.from_supergraph_sdl(_sdl("apischema"))
    outcome = await gateway.execute(
        GraphQLRequest("""{
      s: __type(name: "SearchBy") { isOneOf }
      u: __type(name: "URL") { specifiedByURL }
      k: __type(name: "Kind") { enumValues(includeDeprecated: true) { name isDeprecated } }
      q: __type(name: "Query") { fields(includeDeprecated: true) { name deprecationReason } }
    }"""),
        transport=HTTPTransport(),
        headers={},
    )
    assert outcome.errors == []
    result = outcome
    assert result.data == {
        "s": {"isOneOf": True},
        "u": {"specifiedByURL": "https://tools.ietf.org/html/rfc3986"},
        "k": {"enumValues": [{"name": "GOOD", "isDeprecated": False}, {"name": "UGLY", "isDeprecated": True}]},
        "q": {"fields": [{"name": "things", "deprecationReason": "use search"},
                         {"name": "search", "deprecationReason": None}]},
    }


def test_subgraph_facts() -> None:
    sg = parse_supergraph(_sdl("products"))
    assert list(sg.subgraphs) == ["accounts", "inventory", "products", "reviews"]
    assert sg.resolving_graphs("Product", "shippingEstimate") == ["inventory"]
    assert sg.resolving_graphs("Product", "upc") == ["inventory", "products", "reviews"]
    assert sg.field_in_graph("User", "username", "reviews").external  # type: ignore[union-attr]
    assert sg.field_in_graph("Product", "shippingEstimate", "inventory").requires is not None  # type: ignore[union-attr]
    assert [k.fields for k in sg.resolvable_keys("Product", "reviews")] == ["upc"]
    io = parse_supergraph(_sdl("ifaceobject"))
    assert io.is_interface_object("Account", "b")
    assert not io.is_interface_object("Account", "a")
    assert io.possible_types_in_graph("Account", "a") == ["Admin", "Regular"]


def test_gateway_urls_and_overrides() -> None:
    gw = Gateway.from_supergraph_sdl(_sdl("shareable"), subgraph_url_overrides={"b": "http://127.0.0.1:1/b"})
    assert gw.subgraph_urls == {"a": "http://a.invalid/graphql", "b": "http://127.0.0.1:1/b"}
    with pytest.raises(SupergraphError, match="unknown subgraph"):
        Gateway.from_supergraph_sdl(_sdl("shareable"), subgraph_url_overrides={"zzz": "http://x"})


@pytest.mark.parametrize(("sdl", "message"), [
    ("", "empty"),
    ("type Query {", "does not parse"),
    ("type Query { a: Int }", "no @link"),
    ('schema @link(url: "https://specs.apollo.dev/join/v0.3") { query: Query }\ntype Query { a: Int }',
     "declares no subgraph"),
])
def test_invalid_supergraphs_are_refused_clearly(sdl: str, message: str) -> None:
    with pytest.raises(SupergraphError, match=message):
        Gateway.from_supergraph_sdl(sdl)


def test_unknown_graph_in_join_directive_is_refused() -> None:
    sdl = _sdl("shareable").replace("@join__type(graph: B)", "@join__type(graph: NOPE)", 1)
    with pytest.raises(SupergraphError, match="unknown graph"):
        Gateway.from_supergraph_sdl(sdl)


async def test_repeated_introspection_answers_stay_right_per_variables() -> None:
    # Introspection answers are kept per operation and variables; a cached answer must not
    # leak into a request with other variables, nor be altered by serving it.
    gateway = Gateway.from_supergraph_sdl(_sdl("apischema"))
    query = "query($d: Boolean!) { __type(name: \"Query\") { fields(includeDeprecated: $d) { name } } }"

    async def names(deprecated: bool) -> list[str]:
        outcome = await gateway.execute(
            GraphQLRequest(query, variables={"d": deprecated}), transport=HTTPTransport(), headers={}
        )
        assert outcome.errors == []
        assert outcome.data is not None
        return [f["name"] for f in outcome.data["__type"]["fields"]]

    first = [await names(True), await names(False)]
    again = [await names(True), await names(False)]
    assert first == again
    assert "things" in first[0] and "things" not in first[1]
