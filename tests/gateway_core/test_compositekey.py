"""Re-entering an entity by a composite key for a value-type field only another subgraph resolves (issue 8).

Scenario ``compositekey`` (``references.py``): ``a`` serves the root fields and knows ``Product``
by ``id``, with the @shareable value type ``Category`` (``title``); ``b`` knows ``Product`` only
by ``id pid`` and resolves ``Category.details``; ``c`` knows ``Product`` by ``id`` and resolves
``pid``. Reaching ``Category.details`` from ``a`` means fetching ``pid`` from ``c`` and
re-entering the product in ``b``. Through a union member or an interface fragment this was
refused with QUERY_PLANNING_FAILED ("cannot plan Category.details from subgraph 'a': no other
subgraph resolves it by a key"): the walk forgot the entity to go back to below a fragment.
The answers to every operation of the scenario are compared with Apollo Gateway's in
``test_reference_answers.py``.
"""

from __future__ import annotations

from .harness import Scenario, run


async def test_composite_key_is_fetched_first_and_the_product_re_entered(
    reference_scenarios: dict[str, Scenario],
) -> None:
    scenario = reference_scenarios["compositekey"]
    scenario.reset()
    body = await run(scenario.gateway(), '{ node(id: "p1") { id ... on Product { category { details } } } }')
    assert body == {"data": {"node": {"id": "p1", "category": {"details": "c1 details for x1"}}}}
    [c_request] = scenario.subgraphs["c"].requests
    assert c_request["variables"]["representations"] == [{"__typename": "Product", "id": "p1"}]
    [b_request] = scenario.subgraphs["b"].requests
    assert b_request["variables"]["representations"] == [{"__typename": "Product", "id": "p1", "pid": "x1"}]


async def test_through_a_union_member(reference_scenarios: dict[str, Scenario]) -> None:
    scenario = reference_scenarios["compositekey"]
    body = await run(scenario.gateway(), "{ search { ... on Product { category { details } } } }")
    assert "errors" not in body
    assert body["data"]["search"][0] == {"category": {"details": "c1 details for x1"}}


async def test_a_variable_of_a_field_on_the_way_back_is_declared_by_the_re_entering_fetch(
    reference_scenarios: dict[str, Scenario],
) -> None:
    """Found by the differential fuzzing: the re-entering fetch repeats ``category @skip(if: $v)``
    on its way to ``details`` but did not declare ``$v`` ("Variable '$v' is not defined.")."""
    scenario = reference_scenarios["compositekey"]
    query = "query($v: Boolean!) { products { id c: category @skip(if: $v) { details } } }"
    for v in (False, True):
        scenario.reset()
        body = await run(scenario.gateway(), query, {"v": v})
        assert "errors" not in body, body
        expected = [
            {"id": p, **({} if v else {"c": c})}
            for p, c in (
                ("p1", {"details": "c1 details for x1"}),
                ("p2", None),
                ("p3", {"details": "c1 details for x3"}),
            )
        ]
        assert body["data"]["products"] == expected
        for request in scenario.subgraphs["b"].requests:
            assert "$v:Boolean!" in request["query"]
        if v:  # the re-entry and the key it needs serve the skipped field only: neither is sent
            assert scenario.subgraphs["b"].requests == [] and scenario.subgraphs["c"].requests == []
