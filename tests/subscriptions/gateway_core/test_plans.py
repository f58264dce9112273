"""Subscription plan snapshots: ``Subscription { Primary, Rest }`` over the stub supergraph.

``UPDATE_PLANS=1 .venv/bin/pytest tests/subscriptions/gateway_core/test_plans.py`` writes them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.planner import FetchNode, FlattenNode, SubscriptionNode
from gateway.runtime import Gateway

from .stubs import supergraph

PLANS = Path(__file__).parent / "plans"

CASES = {
    # the primary fetch carries the key the entity fetch to prices needs
    "entity-jump": 'subscription { itemChanged(id: "1") { name price } }',
    # everything from the owning subgraph: no Rest
    "primary-only": "subscription ($id: ID!) { itemChanged(id: $id) { id name } }",
    # aliases and a fragment; the variable only reaches the primary fetch
    "aliased": "subscription Watch($id: ID!) { changed: itemChanged(id: $id) { ... on Item { cost: price } } }",
    "no-arguments": "subscription { itemEvents { price } }",
}


def gateway() -> Gateway:
    return Gateway.from_supergraph_sdl(supergraph("http://stock.invalid/graphql", "http://prices.invalid/graphql"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_plan_snapshot(name: str) -> None:
    text = gateway().plan_text(CASES[name]) + "\n"
    path = PLANS / f"{name}.txt"
    if os.environ.get("UPDATE_PLANS"):
        path.write_text(text)
    if not path.exists():
        pytest.fail(f"no plan snapshot {path.name}: look at the plan, then UPDATE_PLANS=1", pytrace=False)
    assert text == path.read_text()


def test_plan_shape() -> None:
    prepared = gateway().prepare(CASES["entity-jump"], None)
    plan = prepared.plan
    assert isinstance(plan, SubscriptionNode)
    assert plan.primary.subgraph == "stock" and plan.primary.operation_kind == "subscription"
    assert plan.primary.operation == 'subscription{itemChanged(id: "1"){name __typename id}}'
    assert isinstance(plan.rest, FlattenNode) and isinstance(plan.rest.node, FetchNode)
    assert plan.rest.path == ("itemChanged",) and plan.rest.node.subgraph == "prices"
    only = gateway().prepare(CASES["primary-only"], None).plan
    assert isinstance(only, SubscriptionNode) and only.rest is None
    assert only.primary.variable_usages == ("id",)
