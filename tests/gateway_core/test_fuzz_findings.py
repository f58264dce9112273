"""Findings of the differential fuzzing (``test_differential_fuzz.py``), each a regression test in our own words.

(The re-entering fetch that did not declare a variable of a field on its way back is in
``test_compositekey.py``.)
"""

from __future__ import annotations

from .harness import Scenario, run

PICKS_WITH_MOVIE = "query($v: Boolean!) { picks { ... on Book { id } ... on Movie @include(if: $v) { title } } }"


async def test_a_fragment_the_subgraph_cannot_return_does_not_declare_its_variable(
    reference_scenarios: dict[str, Scenario],
) -> None:
    """``b`` serves ``picks``, and its ``Item`` union has no ``Movie``: the fragment on ``Movie`` is left out
    of b's request, and so must its condition's variable be (b answered "Variable '$v' is never used."
    and ``picks`` was null)."""
    scenario = reference_scenarios["partialunion"]
    for v in (True, False):
        scenario.reset()
        body = await run(scenario.gateway(), PICKS_WITH_MOVIE, {"v": v})
        assert body == {"data": {"picks": [{}, {"id": "b1"}]}}
        [request] = scenario.subgraphs["b"].requests
        assert "$v" not in request["query"]
        assert "variables" not in request or "v" not in request["variables"]


def test_the_plan_declares_only_the_variables_a_fetch_prints(reference_scenarios: dict[str, Scenario]) -> None:
    gateway = reference_scenarios["partialunion"].gateway()
    prepared = gateway.prepare(PICKS_WITH_MOVIE, None)
    assert not prepared.errors
    assert prepared.plan is not None
    assert "$v" not in prepared.plan.operation  # type: ignore[union-attr]
