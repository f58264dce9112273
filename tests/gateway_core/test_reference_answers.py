"""This gateway answers like Apollo Gateway on the reference scenarios (``references.py``).

The expected answers in ``fixtures/<scenario>/reference.json`` were recorded from Apollo
Gateway 2.14.4 over the same loopback subgraphs; responses must be equal, key order included.
"""

from __future__ import annotations

import json

import pytest

from .harness import Scenario, run
from .references import SCENARIOS

CASES = [(name, q) for name, s in sorted(SCENARIOS.items()) for q in s.queries]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_reference_covers_every_operation(name: str) -> None:
    assert list(SCENARIOS[name].reference()) == list(SCENARIOS[name].queries)


@pytest.mark.parametrize(("name", "query"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
async def test_answer_matches_apollo_gateway(reference_scenarios: dict[str, Scenario], name: str, query: str) -> None:
    body = await run(reference_scenarios[name].gateway(), query)
    expected = SCENARIOS[name].reference()[query]
    assert json.dumps(body) == json.dumps(expected)  # key order too
