"""Demand control through a real gateway and a real subgraph on loopback: measure mode reports the
estimated and actual cost, enforce mode refuses with COST_ESTIMATED_TOO_EXPENSIVE and calls no subgraph."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.cost import DemandControlConfig
from gateway.cost.config import cost_config_from_settings
from gateway.runtime import Gateway
from gateway.settings import Settings

from .harness import SubgraphServer, executable_schema, run
from .test_cost import SUBGRAPH, SUPERGRAPH


def _items(_source: Any, args: dict[str, Any]) -> list[dict[str, Any]]:
    n = args.get("first") or args.get("last") or 2
    return [{"id": str(i), "name": f"item {i}", "details": {"text": "t"}} for i in range(min(n, 3))]


def _gateway(server: SubgraphServer, config: DemandControlConfig) -> tuple[Gateway, Any]:
    name = "cost/shop"
    if name not in server.apps:
        schema = executable_schema(SUBGRAPH, {"Query.items": _items, "Query.fixed": _items}, {})
        server.register(name, schema)
    app = server.apps[name]
    app.requests.clear()
    gw = Gateway.from_supergraph_sdl(SUPERGRAPH, subgraph_url_overrides={"shop": server.url(name)}, cost=config)
    return gw, app


def test_measure_mode_reports_estimated_and_actual_cost(subgraph_server: SubgraphServer) -> None:
    gw, app = _gateway(subgraph_server, DemandControlConfig(mode="measure", max_cost=1, expose=True))
    body = asyncio.run(run(gw, "query($n: Int) { items(first: $n) { id details { text } } }", {"n": 10}))
    assert body["data"]["items"][0] == {"id": "0", "details": {"text": "t"}}
    # estimated: 10 items of (Item 1 + Details 3); actual: the 3 items answered
    assert body["extensions"]["cost"] == {
        "estimated": 40.0,
        "actual": 12.0,
        "mode": "measure",
        "result": "COST_OK",
        "max": 1.0,
    }
    assert len(app.requests) == 1
    assert gw.demand.stats.count == 1 and gw.demand.stats.refused == 0


def test_enforce_mode_refuses_before_any_subgraph_call(subgraph_server: SubgraphServer) -> None:
    gw, app = _gateway(subgraph_server, DemandControlConfig(mode="enforce", max_cost=20))
    body = asyncio.run(run(gw, "{ items(first: 6) { id details { text } } }"))
    assert "data" not in body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["COST_ESTIMATED_TOO_EXPENSIVE"]
    assert body["errors"][0]["extensions"]["estimatedCost"] == 24.0
    assert "extensions" not in body  # not exposed by default
    assert app.requests == []
    # under the maximum it runs; a variable-sized list is estimated per request
    body = asyncio.run(run(gw, "query($n: Int) { items(first: $n) { id } }", {"n": 5}))
    assert len(body["data"]["items"]) == 3
    body = asyncio.run(run(gw, "query($n: Int) { items(first: $n) { id } }", {"n": 50}))
    assert body["errors"][0]["extensions"]["code"] == "COST_ESTIMATED_TOO_EXPENSIVE"
    assert len(app.requests) == 1
    assert gw.demand.stats.refused == 2


def test_a_missing_slicing_argument_is_a_request_error(subgraph_server: SubgraphServer) -> None:
    gw, app = _gateway(subgraph_server, DemandControlConfig(mode="measure"))
    body = asyncio.run(run(gw, "{ items { id } }"))
    assert body["errors"][0]["extensions"]["code"] == "COST_QUERY_PARSE_FAILURE"
    assert app.requests == []


def test_off_mode_does_nothing(subgraph_server: SubgraphServer) -> None:
    gw, _app = _gateway(subgraph_server, DemandControlConfig(mode="off", expose=True))
    body = asyncio.run(run(gw, "{ items { id } }"))
    assert len(body["data"]["items"]) == 2
    assert "extensions" not in body


def test_settings_build_the_config() -> None:
    settings = Settings.load(
        environ={
            "GATEWAY_DEMAND_CONTROL_MODE": "enforce",
            "GATEWAY_DEMAND_CONTROL_MAX_COST": "250",
            "GATEWAY_DEMAND_CONTROL_DEFAULT_LIST_SIZE": "7",
            "GATEWAY_DEMAND_CONTROL_EXPOSE": "true",
        }
    )
    assert cost_config_from_settings(settings) == DemandControlConfig("enforce", 250.0, 7, True)
    assert cost_config_from_settings(Settings()) == DemandControlConfig()


def test_costs_are_exported_for_metrics(subgraph_server: SubgraphServer) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from gateway.telemetry.metrics import StateCollector

    gw, _app = _gateway(subgraph_server, DemandControlConfig(mode="enforce", max_cost=20))
    asyncio.run(run(gw, "{ items(first: 3) { id } }"))  # 3
    asyncio.run(run(gw, "{ items(first: 30) { id } }"))  # 30: refused
    registry = CollectorRegistry()
    registry.register(StateCollector(lambda: gw, None))
    text = generate_latest(registry).decode()
    assert 'gateway_operation_estimated_cost_bucket{le="5.0"} 1.0' in text
    assert 'gateway_operation_estimated_cost_bucket{le="+Inf"} 2.0' in text
    assert "gateway_operation_estimated_cost_sum 33.0" in text
    assert "gateway_cost_refused_total 1.0" in text
