"""Prometheus metrics of the served gateway after known traffic (real identity, catalog and gateway).

A fresh gateway receives a known sequence (two successes, a validation error, a refused token,
a denied field, a limit refusal, a fetch of an unreachable subgraph) and ``/metrics`` must show
exactly those increments, with bounded labels.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.telemetry.labels import OTHER, BoundedLabels

from .auth_stack import AuthStack, Served, auth_stack, serving_gateway
from .harness import closed_port

CATEGORIES = "query Cats { categories { name } }"
CLIENT = {"apollographql-client-name": "web", "apollographql-client-version": "1.2.3"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthStack]:
    with auth_stack(tmp_path_factory.mktemp("metrics-stack")) as running:
        yield running


@pytest.fixture(scope="module")
def gateway(stack: AuthStack) -> Iterator[Served]:
    with closed_port() as port:
        settings = stack.settings(
            max_aliases=3,
            metrics_max_operation_names=2,
            subgraph_urls={
                "identity": stack.identity.url,
                "catalog": stack.catalog_url,
                "templates": f"http://127.0.0.1:{port}/graphql",
            },
            retry_attempts=0,
        )
        with serving_gateway(settings) as gw:
            yield gw


def samples(base_url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = httpx.get(base_url + "/metrics", timeout=10).text
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_known_traffic_gives_exact_counts(stack: AuthStack, gateway: Served) -> None:
    before = samples(gateway.url)
    assert value(before, "gateway_requests_in_flight") == 0
    # two successes from a named client
    for _ in range(2):
        ok = gateway.post(CATEGORIES, None, **CLIENT)
        assert ok.status_code == 200 and "errors" not in ok.json(), ok.text
    # a validation error (its name takes no label slot)
    bad = gateway.post("query Bad { nope }")
    assert bad.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    # a refused token
    refused = gateway.post(CATEGORIES, token="garbage")
    assert refused.status_code == 401
    # a denied field (anonymous products are refused by the gateway)
    denied = gateway.post("query Prods { products(first: 1) { totalCount } }")
    assert [e["extensions"]["code"] for e in denied.json()["errors"]] == ["UNAUTHORIZED_FIELD_OR_TYPE"]
    # a limit refusal
    limited = gateway.post(
        "query Many { a: categories { name } b: categories { name } c: categories { name } d: categories { name } }"
    )
    assert limited.json()["errors"][0]["extensions"]["code"] == "MAX_ALIASES_LIMIT"
    # a subgraph that cannot be reached
    token = stack.identity.token_for("acme-admin")
    down = gateway.post("query Tpl { templates(first: 1) { totalCount } }", token=token)
    down_codes = [e["extensions"]["code"] for e in down.json()["errors"]]
    assert down_codes, down.text

    m = samples(gateway.url)
    requests = "gateway_requests_total"
    assert (
        value(
            m,
            requests,
            operation_type="query",
            operation_name="Cats",
            client_name="web",
            client_version="1.2.3",
            status="200",
        )
        == 2
    )
    assert (
        value(
            m,
            "gateway_request_duration_seconds_count",
            operation_type="query",
            operation_name="Cats",
            client_name="web",
            client_version="1.2.3",
        )
        == 2
    )
    # only two operation names get labels (setting); Bad never ran, so it is "other"
    assert (
        value(
            m, requests, operation_type="unknown", operation_name=OTHER, client_name="", client_version="", status="200"
        )
        == 2
    )  # Bad, and Many (refused before it ran)
    # refused at the edge before its body was read: no name
    assert (
        value(m, requests, operation_type="unknown", operation_name="", client_name="", client_version="", status="401")
        == 1
    )
    assert (
        value(
            m, requests, operation_type="query", operation_name="Prods", client_name="", client_version="", status="200"
        )
        == 1
    )
    assert (
        value(
            m, requests, operation_type="query", operation_name=OTHER, client_name="", client_version="", status="200"
        )
        == 1
    )  # Tpl: a third name
    assert value(m, "gateway_errors_total", code="GRAPHQL_VALIDATION_FAILED") == 1
    assert value(m, "gateway_errors_total", code="UNAUTHENTICATED") == 1
    assert value(m, "gateway_errors_total", code="MAX_ALIASES_LIMIT") == 1
    assert value(m, "gateway_errors_total", code="UNAUTHORIZED_FIELD_OR_TYPE") == 1
    assert value(m, "gateway_auth_failures_total", kind="UNAUTHENTICATED") == 1
    assert value(m, "gateway_authorization_denials_total") == 1
    assert value(m, "gateway_limits_refused_total", code="MAX_ALIASES_LIMIT") == 1
    assert value(m, "gateway_rate_limited_total") == 0
    assert value(m, "gateway_subgraph_errors_total", subgraph="templates", kind="transport") == 1
    assert value(m, "gateway_subgraph_request_duration_seconds_count", subgraph="catalog") >= 2
    assert value(m, "gateway_subgraph_request_duration_seconds_count", subgraph="templates") == 1
    assert value(m, "gateway_requests_in_flight") == 0
    # the second Cats came from the plan cache
    assert value(m, "gateway_plan_cache_hits_total") >= 1
    assert value(m, "gateway_plan_cache_misses_total") >= 5
    assert value(m, "gateway_query_planning_seconds_count") == value(m, "gateway_plan_cache_misses_total")
    assert value(m, "gateway_query_planning_seconds_sum") > 0
    # circuits of the subgraphs contacted: closed (one failure is under the minimum volume)
    assert value(m, "gateway_circuit_state", subgraph="templates", state="closed") == 1
    assert value(m, "gateway_circuit_state", subgraph="templates", state="open") == 0
    assert ("gateway_subgraph_shared_fetches_total", frozenset()) in m
    assert ("gateway_coalesced_requests_total", frozenset()) in m


def test_metric_names_carry_prefix_and_unit(gateway: Served) -> None:
    text = httpx.get(gateway.url + "/metrics", timeout=10).text
    names = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}
    assert names and all(n.startswith("gateway_") for n in names), names
    for name in names:
        kind = next(line.split()[3] for line in text.splitlines() if line.startswith(f"# TYPE {name} "))
        if kind == "counter":
            assert name.endswith("_total"), name
        if kind in ("histogram", "summary"):
            # durations in seconds; demand control's cost is dimensionless (IBM cost spec units)
            assert name.endswith(("_seconds", "_cost")), name


def test_labels_are_bounded() -> None:
    labels = BoundedLabels(2, known=("Persisted",))
    assert [labels.value(n) for n in ("A", "B", "C", "Persisted", "A")] == ["A", "B", OTHER, "Persisted", "A"]
    assert labels.value("New", admit=False) == OTHER
    assert labels.value(None) == ""
    assert BoundedLabels(5).value("has space") == OTHER


def test_a_second_app_has_its_own_registry(stack: AuthStack, tmp_path: Path) -> None:
    with serving_gateway(stack.settings()) as other:
        m = samples(other.url)
        assert (
            value(
                m,
                "gateway_requests_total",
                operation_type="query",
                operation_name="Cats",
                client_name="web",
                client_version="1.2.3",
                status="200",
            )
            == 0
        )


def test_rate_limited_requests_are_counted_apart_from_auth_failures(stack: AuthStack) -> None:
    with serving_gateway(stack.settings(rate_limit_anonymous=1, rate_limit_window=60)) as gw:
        assert gw.post(CATEGORIES).status_code == 200
        assert gw.post(CATEGORIES).status_code == 429
        m = samples(gw.url)
    assert value(m, "gateway_rate_limited_total") == 1
    assert value(m, "gateway_errors_total", code="RATE_LIMITED") == 1
    assert not any(name == "gateway_auth_failures_total" for name, _labels in m)
    assert (
        value(
            m,
            "gateway_requests_total",
            operation_type="unknown",
            operation_name="",
            client_name="",
            client_version="",
            status="429",
        )
        == 1
    )
