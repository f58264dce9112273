"""The API schema the gateway serves: the machinery and @inaccessible elements are gone.

``api_schema_from_supergraph`` is the gateway's own derivation (``gateway.supergraph.api_schema``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import print_schema

from gateway.composition.api_schema import api_schema_from_supergraph

from .helpers import CASES_DIR, all_cases, normalise_api

SUPERGRAPH = (CASES_DIR / "inaccessible-and-tags" / "expected-supergraph.graphql").read_text()


def test_inaccessible_elements_and_machinery_are_removed() -> None:
    schema = api_schema_from_supergraph(SUPERGRAPH)
    printed = print_schema(schema)
    assert "Secret" not in printed
    assert "internal" not in printed
    assert "LEGACY" not in printed
    assert "cost" not in printed
    assert "join__" not in printed and "link__" not in printed and "@tag" not in printed
    assert normalise_api(printed) == normalise_api(
        (CASES_DIR / "inaccessible-and-tags" / "expected-api.graphql").read_text()
    )


def test_executable_directives_stay_and_linked_ones_go() -> None:
    sdl = (CASES_DIR / "executable-directives" / "expected-supergraph.graphql").read_text()
    schema = api_schema_from_supergraph(sdl)
    assert [d.name for d in schema.directives if d.name in ("trace", "visibility")] == ["trace"]
    trace = schema.get_directive("trace")
    assert trace is not None and [str(loc.name) for loc in trace.locations] == ["FIELD"]


def test_served_schema_is_the_derived_one() -> None:
    """``gateway serve`` and ``gateway schema diff`` see one API schema (it used to be two
    derivations that differed on the executable-directives case)."""
    from gateway.runtime import Gateway

    for case in ("executable-directives", "inaccessible-and-tags", "descriptions-deprecations"):
        sdl = (CASES_DIR / case / "expected-supergraph.graphql").read_text()
        served = print_schema(Gateway.from_supergraph_sdl(sdl).api_schema)
        assert served == print_schema(api_schema_from_supergraph(sdl))
        assert normalise_api(served) == normalise_api((CASES_DIR / case / "expected-api.graphql").read_text())


def test_deprecations_and_descriptions_survive() -> None:
    sdl = (CASES_DIR / "descriptions-deprecations" / "expected-supergraph.graphql").read_text()
    schema = api_schema_from_supergraph(sdl)
    query = schema.query_type
    assert query is not None
    assert query.fields["legacy"].deprecation_reason == "use products"
    assert query.fields["products"].description == "All products"
    assert query.fields["products"].args["first"].description == "How many"


@pytest.mark.parametrize(
    "case",
    [p for p in all_cases() if (p / "expected-supergraph.graphql").exists()],
    ids=lambda p: p.name,
)
def test_api_schema_of_reference_supergraphs(case: Path) -> None:
    """Our API schema derivation applied to Apollo's own supergraph gives Apollo's API schema."""
    sdl = (case / "expected-supergraph.graphql").read_text()
    expected = (case / "expected-api.graphql").read_text()
    assert normalise_api(print_schema(api_schema_from_supergraph(sdl))) == normalise_api(expected)
