"""Findings of the differential fuzzing (``test_differential_fuzz.py``), each a regression test in our own words.

(The re-entering fetch that did not declare a variable of a field on its way back is in
``test_compositekey.py``.)
"""

from __future__ import annotations

from pathlib import Path

from .autodata import start_auto_scenario
from .harness import Scenario, SubgraphServer, run

CORPUS = Path(__file__).resolve().parents[1] / "composition" / "cases"
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


# -- where Apollo Gateway answers wrongly: this gateway's answer, pinned ----------------------------


async def test_a_fragment_on_the_item_type_of_a_narrower_list_keeps_its_fields(subgraph_server: SubgraphServer) -> None:
    """``Similar.similar`` is ``[Item]`` in the API but ``[Journal]`` on ``Journal``: below a Journal,
    ``... on Journal { sku }`` applies to every item. Apollo Gateway asks no ``__typename`` there and
    then drops ``sku`` from its answer; the subgraph does send it."""
    scenario = start_auto_scenario(subgraph_server, "catalog")
    query = (
        "{ review(id: 3) { product { ... on Novel { publisher { ... on Self { email } } } "
        "... on Similar { similar { a5: id ... on Journal { sku } ... on Novel { id } } } } } }"
    )
    body = await run(scenario.gateway(), query)
    assert "errors" not in body
    similar = body["data"]["review"]["product"]["similar"]
    assert similar and all(item is None or set(item) == {"a5", "sku"} for item in similar)


async def test_an_excluded_required_field_does_not_lose_its_siblings(subgraph_server: SubgraphServer) -> None:
    """``isSpam @include(if: false)`` (a field with @requires) beside ``body``: Apollo Gateway skips the
    fetch that serves both and answers null objects (with value completion errors in its extensions)."""
    scenario = start_auto_scenario(subgraph_server, "reqargs")
    body = await run(scenario.gateway(), "{ feed { id comments(limit: 3) { body isSpam @include(if: false) } } }")
    assert "errors" not in body
    comments = [c for post in body["data"]["feed"] if post for c in post["comments"] or ()]
    assert comments and all(c is None or (set(c) == {"body"} and isinstance(c["body"], str)) for c in comments)


async def test_a_field_abstract_in_the_api_but_one_object_type_in_its_subgraph_asks_its_typename(
    subgraph_server: SubgraphServer,
) -> None:
    """Composition corpus case ``field-type-subtype``: ``featured`` is ``Media`` in the API and ``Photo`` in
    subgraph ``b``, which serves it. Asked without ``__typename``, the answer could not say which type
    the object is, and ``featured`` came back null (Apollo Gateway keeps the object but drops ``width``)."""
    scenario = start_auto_scenario(subgraph_server, "field-type-subtype", CORPUS / "field-type-subtype")
    body = await run(scenario.gateway(), "{ featured { id ... on Photo { id width } } }")
    assert "errors" not in body
    featured = body["data"]["featured"]
    assert featured is not None and set(featured) == {"id", "width"}
    [request] = scenario.subgraphs["b"].requests
    assert "featured{__typename" in request["query"].replace(" ", "")


async def test_a_value_type_field_below_an_entity_the_other_subgraph_does_not_know_re_enters_higher_up(
    subgraph_server: SubgraphServer,
) -> None:
    """Composition corpus case ``value-type-reached-after-jump``: ``orders`` serves ``order`` and knows
    ``Address`` as an entity; ``shipping`` adds ``Address.label`` to a keyless ``Address`` reached through
    the shared ``Order.address``. The address cannot be re-entered in ``shipping`` by its key: the order
    must be (by ``Order``'s key), then ``address { label }``. Was QUERY_PLANNING_FAILED ("cannot plan
    Address.label from subgraph 'orders': no other subgraph resolves it by a key")."""
    scenario = start_auto_scenario(
        subgraph_server, "value-type-reached-after-jump", CORPUS / "value-type-reached-after-jump"
    )
    body = await run(scenario.gateway(), "{ order { id address { label city } } }")
    assert "errors" not in body, body
    assert set(body["data"]["order"]["address"]) == {"label", "city"}
    [request] = scenario.subgraphs["shipping"].requests
    assert "... on Order{address{label}}" in request["query"]
