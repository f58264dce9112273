"""Contract composition (gateway/composition/contracts.py) against the rules Apollo's contracts document.

Each case composes small subgraphs, filters them by tags and compares the contract's API schema
with the one Apollo's contract reference says a contract with those filters has ("Rules for @tags
and contracts": tag inheritance from types to fields, exclusion winning over inclusion, an object
type left without fields removed, a union left without members removed, unreachable types hidden
unless kept, invalid contracts refused). The expected schemas are written out by hand from those
rules; the contract supergraph itself keeps every element (with ``@inaccessible``) so that the
gateway still plans through hidden keys.
"""

from __future__ import annotations

from collections.abc import Set
from pathlib import Path

from graphql import build_schema, lexicographic_sort_schema, print_schema

from gateway.composition import SubgraphSource, compose
from gateway.composition.api_schema import api_schema_from_supergraph
from gateway.composition.config import load_config
from gateway.composition.contracts import ContractFilter, ContractResult, apply_contract
from gateway.runtime import Gateway

ROOT = Path(__file__).resolve().parents[2]
LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@tag", "@shareable"])\n'


def contract(subgraphs: dict[str, str], include: Set[str] = frozenset(), exclude: Set[str] = frozenset(),
             hide_unreachable: bool = True) -> ContractResult:
    sources = [SubgraphSource(name, f"http://{name}.example/graphql", LINK + sdl) for name, sdl in subgraphs.items()]
    composed = compose(sources)
    assert composed.ok and composed.supergraph is not None, [str(e) for e in composed.errors]
    return apply_contract(composed.supergraph, ContractFilter(frozenset(include), frozenset(exclude), hide_unreachable))


def api(result: ContractResult) -> str:
    assert result.errors == [], [str(e) for e in result.errors]
    assert result.supergraph_sdl is not None
    return print_schema(lexicographic_sort_schema(api_schema_from_supergraph(result.supergraph_sdl)))


def same(expected: str) -> str:
    return print_schema(lexicographic_sort_schema(build_schema(expected)))


def codes(result: ContractResult) -> list[str]:
    return sorted(e.code for e in result.errors)


USERS = """
type Query {
  users: [User!]! @tag(name: "internal")
  products: [Product!]! @tag(name: "public")
  version: String
}
type User @key(fields: "id") @tag(name: "internal") { id: ID! email: String! }
type Product @key(fields: "id") {
  id: ID!
  name: String! @tag(name: "public")
  cost: Float @tag(name: "internal")
  color: Color
}
enum Color { RED GREEN @tag(name: "internal") }
"""


def test_exclude_hides_tagged_fields_and_types_with_every_field_of_a_tagged_type() -> None:
    # excluded tags only: everything untagged stays; User's tag counts for its fields (inheritance)
    assert api(contract({"a": USERS}, exclude={"internal"})) == same("""
        type Query { products: [Product!]! version: String }
        type Product { id: ID! name: String! color: Color }
        enum Color { RED }
    """)


def test_include_keeps_only_tagged_fields_and_types_with_an_included_field() -> None:
    # Product has no tag but one included field: it stays, with that field only; Color is
    # no longer reached and goes; an untagged root field goes too
    assert api(contract({"a": USERS}, include={"public"})) == same("""
        type Query { products: [Product!]! }
        type Product { name: String! }
    """)


def test_exclusion_wins_over_inclusion() -> None:
    sdl = """
    type Query { a: String @tag(name: "public") b: String @tag(name: "public") @tag(name: "internal") }
    """
    assert api(contract({"a": sdl}, include={"public"}, exclude={"internal"})) == same("type Query { a: String }")


def test_a_tag_on_a_type_counts_for_its_fields_in_every_subgraph() -> None:
    catalog = """
    type Query { product: Product @tag(name: "public") }
    type Product @key(fields: "id") @tag(name: "public") { id: ID! name: String }
    """
    reviews = """
    type Product @key(fields: "id") { id: ID! stars: Int secret: String @tag(name: "internal") }
    """
    result = contract({"catalog": catalog, "reviews": reviews}, include={"public"}, exclude={"internal"})
    assert api(result) == same("""
        type Query { product: Product }
        type Product { id: ID! name: String stars: Int }
    """)


def test_a_type_left_without_fields_is_removed_and_so_is_an_emptied_union() -> None:
    sdl = """
    type Query { search: [Result!]! @tag(name: "public") me: Account @tag(name: "internal") }
    union Result = Post | Secret
    type Post @tag(name: "public") { title: String }
    type Secret @tag(name: "internal") { code: String }
    type Account { login: String @tag(name: "internal") }
    """
    # Account lost every field and is gone; the union keeps its visible member
    assert api(contract({"a": sdl}, exclude={"internal"})) == same("""
        type Query { search: [Result!]! }
        union Result = Post
        type Post { title: String }
    """)
    only_secret = sdl.replace('type Post @tag(name: "public")', 'type Post @tag(name: "internal")')
    only_secret = only_secret.replace('search: [Result!]! @tag(name: "public")', 'search: [Result!] @tag(name: "x")')
    result = contract({"a": only_secret}, exclude={"internal"})
    # every member hidden: the union goes, and the field still returning it makes the contract invalid
    assert codes(result) == ["CONTRACT_REFERENCED_INACCESSIBLE"]
    assert "Query.search" in str(result.errors[0])


def test_unreachable_types_are_hidden_unless_kept() -> None:
    sdl = """
    type Query { a: String }
    type Orphan { x: Int }
    input Unused { y: Int }
    """
    assert api(contract({"a": sdl}, exclude={"internal"})) == same("type Query { a: String }")
    kept = api(contract({"a": sdl}, exclude={"internal"}, hide_unreachable=False))
    assert "type Orphan" in kept and "input Unused" in kept


def test_invalid_contracts_are_refused_with_coded_errors() -> None:
    returns_hidden = """
    type Query { account: Account }
    type Account @tag(name: "internal") { id: ID! }
    """
    assert codes(contract({"a": returns_hidden}, exclude={"internal"})) == ["CONTRACT_REFERENCED_INACCESSIBLE"]
    required = 'type Query { find(id: ID! @tag(name: "internal")): String }'
    assert codes(contract({"a": required}, exclude={"internal"})) == ["CONTRACT_REQUIRED_INACCESSIBLE"]
    nothing = 'type Query { a: String @tag(name: "internal") }'
    assert codes(contract({"a": nothing}, exclude={"internal"})) == ["CONTRACT_EMPTY_QUERY"]


def test_the_contract_keeps_hidden_keys_so_the_gateway_still_plans_through_them() -> None:
    catalog = """
    type Query { products: [Product!]! @tag(name: "public") }
    type Product @key(fields: "id") { id: ID! name: String @tag(name: "public") }
    """
    reviews = 'type Product @key(fields: "id") { id: ID! stars: Int @tag(name: "public") }'
    result = contract({"catalog": catalog, "reviews": reviews}, include={"public"})
    assert "id" not in api(result).split("type Product", 1)[1]  # the key is hidden from clients ...
    assert result.supergraph_sdl is not None
    assert "id: ID! @inaccessible" in result.supergraph_sdl
    gateway = Gateway.from_supergraph_sdl(result.supergraph_sdl)
    plan = gateway.plan_text("{ products { name stars } }")
    assert 'Fetch(service: "reviews")' in plan and "id" in plan, plan  # ... and still joins the subgraphs


def test_the_partner_contract_is_current_and_hides_identity_administration_and_audit_logs() -> None:
    composed = compose(load_config(ROOT / "schema" / "supergraph.yaml"))
    assert composed.supergraph is not None
    result = apply_contract(composed.supergraph, ContractFilter(frozenset({"partner"}), frozenset({"internal"})))
    assert result.supergraph_sdl is not None, [str(e) for e in result.errors]
    committed = (ROOT / "schema" / "partner.graphql").read_text(encoding="utf-8")
    assert committed == result.supergraph_sdl, "schema/partner.graphql is stale: run `make schema`"
    schema = api_schema_from_supergraph(committed)
    names = set(schema.type_map)
    assert {"Category", "Product", "Template", "TemplateField", "Passport", "PublicPassport"} <= names
    for hidden in ("Tenant", "User", "Role", "Membership", "AuthPayload", "CatalogAuditEntry", "TemplateAuditEntry",
                   "IdentityAuditEntry", "PassportAuditEntry", "Mutation"):
        assert hidden not in names, hidden
    assert schema.query_type is not None and schema.mutation_type is None
    assert set(schema.query_type.fields) == {
        "categories", "category", "product", "products", "template", "templates", "templateField",
        "templateFields", "passport", "passports", "publicPassport",
    }
    passport = schema.type_map["Passport"]
    assert "tenant" not in passport.fields and "auditEntries" not in passport.fields  # type: ignore[attr-defined]
