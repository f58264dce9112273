"""``gateway schema diff``: changes between two supergraphs' API schemas, classified."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main
from gateway.composition import SubgraphSource, compose
from gateway.composition.diff import diff_supergraphs

BASE = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@inaccessible"])
type Query { product(id: ID!): Product products(first: Int): [Product!] }
type Product @key(fields: "id") { id: ID! name: String price: Int! status: Status internal: String @inaccessible }
enum Status { ACTIVE RETIRED }
input Filter { text: String }
"""


def _supergraph(sdl: str) -> str:
    result = compose([SubgraphSource("products", "http://products/graphql", sdl)])
    assert result.supergraph_sdl is not None, [str(e) for e in result.errors]
    return result.supergraph_sdl


def _changes(new_sdl: str) -> list[tuple[str, str, str]]:
    return [(c.level, c.kind, c.message) for c in diff_supergraphs(_supergraph(BASE), _supergraph(new_sdl))]


def test_identical_supergraphs_have_no_changes() -> None:
    assert _changes(BASE) == []


def test_removed_field_is_breaking() -> None:
    assert _changes(BASE.replace("name: String ", "")) == [
        ("breaking", "FIELD_REMOVED", "Field Product.name was removed.")
    ]


def test_removed_type_is_breaking() -> None:
    assert _changes(BASE.replace("input Filter { text: String }", "")) == [
        ("breaking", "TYPE_REMOVED", "Filter was removed.")
    ]


def test_changed_field_type_is_breaking() -> None:
    assert _changes(BASE.replace("name: String ", "name: Int ")) == [
        ("breaking", "FIELD_CHANGED_KIND", "Field Product.name changed type from String to Int.")
    ]


def test_new_required_argument_is_breaking_and_optional_one_dangerous() -> None:
    assert _changes(BASE.replace("products(first: Int)", "products(first: Int, after: String!, q: String)")) == [
        ("breaking", "REQUIRED_ARG_ADDED", "A required argument Query.products(after:) was added."),
        ("dangerous", "OPTIONAL_ARG_ADDED", "An optional argument Query.products(q:) was added."),
    ]


def test_removed_enum_value_is_breaking_and_added_one_dangerous() -> None:
    assert _changes(BASE.replace("ACTIVE RETIRED", "ACTIVE DRAFT")) == [
        ("breaking", "VALUE_REMOVED_FROM_ENUM", "Enum value Status.RETIRED was removed."),
        ("dangerous", "VALUE_ADDED_TO_ENUM", "Enum value Status.DRAFT was added."),
    ]


def test_nullability_changes() -> None:
    # Loosening an output is breaking (clients relied on a value); tightening it is safe.
    assert _changes(BASE.replace("price: Int!", "price: Int").replace("name: String ", "name: String! ")) == [
        ("breaking", "FIELD_CHANGED_KIND", "Field Product.price changed type from Int! to Int."),
        ("safe", "FIELD_CHANGED_KIND", "Field Product.name changed type from String to String!."),
    ]
    # Tightening an argument is breaking.
    assert _changes(BASE.replace("products(first: Int)", "products(first: Int!)")) == [
        ("breaking", "ARG_CHANGED_KIND", "Argument Query.products(first:) has changed type from Int to Int!."),
    ]


def test_additions_are_safe_and_inaccessible_elements_do_not_count() -> None:
    new = BASE.replace("internal: String @inaccessible", "sku: String") + "type Review { body: String }\n"
    new = new.replace("type Query {", "type Query { reviews: [Review] ")
    assert _changes(new) == [
        ("safe", "TYPE_ADDED", "Type Review was added."),
        ("safe", "FIELD_ADDED", "Field Product.sku was added."),
        ("safe", "FIELD_ADDED", "Field Query.reviews was added."),
    ]


def test_cli_exits_non_zero_on_breaking_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = tmp_path / "old.graphql"
    new = tmp_path / "new.graphql"
    old.write_text(_supergraph(BASE))
    new.write_text(_supergraph(BASE.replace("name: String ", "")))
    assert main(["schema", "diff", str(old), str(new)]) == 1
    out = capsys.readouterr().out
    assert "BREAKING  FIELD_REMOVED" in out
    assert out.strip().endswith("1 breaking, 0 dangerous, 0 safe")


def test_cli_exits_zero_on_safe_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = tmp_path / "old.graphql"
    new = tmp_path / "new.graphql"
    old.write_text(_supergraph(BASE))
    new.write_text(_supergraph(BASE.replace("name: String ", "name: String extra: Int ")))
    assert main(["schema", "diff", str(old), str(new)]) == 0
    assert capsys.readouterr().out.strip().endswith("0 breaking, 0 dangerous, 1 safe")
