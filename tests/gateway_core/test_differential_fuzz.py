"""Differential fuzzing: random valid operations answered by this gateway and by Apollo Gateway alike.

For each reference scenario (``references.py``: its subgraphs on loopback), :class:`OperationGenerator`
writes random valid queries over the API schema; both gateways answer each one over the same
subgraphs, and the data (key order included) and the set of error paths must be equal (error
messages are each gateway's own). Apollo Gateway 2.14.4 runs from ``bench/node_modules``
(``make bench`` installs it); without it the suite skips.

Bounded: ``FUZZ_EXAMPLES`` operations per scenario (default 30) within ``FUZZ_SECONDS`` (default
40) per scenario, from the fixed seed ``FUZZ_SEED`` (default 8) so that CI runs the same
operations every time; any other seed explores further. A finding becomes a regression test in
our own words (see ``test_conformance_random.py``) and is fixed.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from .apollo import ApolloGateway, apollo_available
from .harness import Scenario, run
from .opgen import OperationGenerator
from .references import SCENARIOS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not apollo_available(), reason="Apollo Gateway is not installed (make bench installs it)"),
]

SEED = os.environ.get("FUZZ_SEED", "8")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
BUDGET_SECONDS = float(os.environ.get("FUZZ_SECONDS", "40"))

# argument values that exist in each scenario's data (and one that does not)
ARGUMENTS: Mapping[str, Mapping[str, Sequence[Any]]] = {
    "compositekey": {"ID": ["p1", "p2", "p3", "a1", "nope"]},
}


def comparable(body: Mapping[str, Any]) -> tuple[str, list[str]]:
    """What must be equal: the data as JSON (key order included) and the sorted error paths."""
    errors = body.get("errors") or []
    paths = sorted(json.dumps(e.get("path")) for e in errors if isinstance(e, dict))
    return json.dumps(body.get("data")), paths


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_random_operations_answer_like_apollo_gateway(
    reference_scenarios: dict[str, Scenario], name: str
) -> None:
    scenario = reference_scenarios[name]
    gateway = scenario.gateway()
    generator = OperationGenerator(gateway.api_schema, ARGUMENTS.get(name, {}))
    rng = random.Random(f"{SEED}/{name}")
    urls = {n: scenario.server.url(f"{name}/{n}") for n in scenario.subgraphs}
    mismatches: list[str] = []
    compared = 0
    with ApolloGateway(scenario.supergraph_sdl(), urls) as apollo:
        deadline = time.monotonic() + BUDGET_SECONDS
        while compared < EXAMPLES and time.monotonic() < deadline:
            op = generator.operation(rng)
            ours = await run(gateway, op.query, dict(op.variables) or None)
            theirs = apollo.query(op.query, op.variables)
            compared += 1
            if comparable(ours) != comparable(theirs):
                mismatches.append(f"{op.query}\n  variables: {dict(op.variables)}\n  ours:   {json.dumps(ours)}\n"
                                  f"  apollo: {json.dumps(theirs)}")
    assert compared >= min(EXAMPLES, 5)
    assert not mismatches, f"{len(mismatches)} of {compared} operations answered differently:\n" + "\n".join(
        mismatches
    )
