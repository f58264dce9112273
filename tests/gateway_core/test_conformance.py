"""Behaviours found by running a federation conformance suite locally, one scenario per fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from graphql import print_directive

from .harness import Scenario, SubgraphServer, run, start_scenario

# -- custom executable directive brought in by @composeDirective ---------------------------------


@pytest.fixture(scope="module")
def customdirective(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    yield start_scenario(subgraph_server, "customdirective", {
        "a": {"fields": {"Query.alpha": lambda _s: "alpha"}},
        "b": {"fields": {"Query.beta": lambda _s: "beta"}},
    })


def test_composed_executable_directive_is_part_of_the_api_schema(customdirective: Scenario) -> None:
    schema = customdirective.gateway().api_schema
    trace = schema.get_directive("trace")
    assert trace is not None
    # only its executable location is the clients' to use; the default comes from the supergraph
    assert print_directive(trace) == "directive @trace(level: Level! = BASIC) on FIELD"


async def test_query_may_use_the_composed_directive(customdirective: Scenario) -> None:
    customdirective.reset()
    body = await run(customdirective.gateway(), "{ alpha @trace beta @trace(level: FULL) }")
    assert body == {"data": {"alpha": "alpha", "beta": "beta"}}
    # subgraph a declares the argument without a default: the directive is not forwarded as is
    (req,) = customdirective.subgraphs["a"].requests
    assert "@trace" not in req["query"]
