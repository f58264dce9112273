"""Hostile input to the served catalog: clear client errors, never INTERNAL_SERVER_ERROR."""

from __future__ import annotations

from tests.subgraphs.catalog.conftest import Catalog

SEARCH = "query($s: String) { products(filter: {search: $s}) { totalCount } }"
SKIP = "query($skip: Boolean = false) { categories { name @skip(if: $skip) } }"
INCLUDE = "query($on: Boolean = true) { categories { name @include(if: $on) } }"
REQUIRED = "query($on: Boolean!) { categories { name @include(if: $on) } }"


def test_a_search_longer_than_its_limit_is_bad_user_input_naming_the_limit(catalog: Catalog) -> None:
    body = catalog.query(SEARCH, {"s": "x" * 50_000}, user="acme-viewer")
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == "search must be at most 200 characters"
    longest = catalog.ok(SEARCH, {"s": "%_\\" + "y" * 197}, user="acme-viewer")
    assert longest["products"]["totalCount"] == 0


def test_a_null_skip_or_include_variable_is_a_client_error(catalog: Catalog) -> None:
    for query, variables in ((SKIP, {"skip": None}), (INCLUDE, {"on": None}), (REQUIRED, {"on": None})):
        body = catalog.query(query, variables, user="acme-viewer")
        assert body.get("data") is None, body
        [error] = body["errors"]
        assert error["extensions"]["code"] in {"GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT"}, body
        assert "if" in error["message"] and "null" in error["message"].lower(), error["message"]
