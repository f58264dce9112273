"""Resilience through the served gateway (``build_app`` under uvicorn) against a real flaky subgraph:
an open circuit answers 200 with partial data and is seen in /health/ready; probes; settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.resilience import SUBGRAPH_CIRCUIT_OPEN
from gateway.serve import build_app, build_server
from gateway.settings import Settings, SettingsError
from tests.support.flaky_subgraph import FlakySubgraph, flaky_subgraph
from tests.support.servers import ServerThread

from .harness import wait_until


@pytest.fixture(scope="module")
def flaky() -> Iterator[FlakySubgraph]:
    yield from flaky_subgraph()


@pytest.fixture
def subgraph(flaky: FlakySubgraph) -> FlakySubgraph:
    flaky.set("ok")
    return flaky


def serve(tmp_path: Path, flaky: FlakySubgraph, **values: Any) -> ServerThread:
    path = tmp_path / "supergraph.graphql"
    path.write_text(flaky.supergraph_sdl())
    settings = Settings.from_mapping({"supergraph": path, "log_level": "warning", "retry_attempts": 0, **values})
    app = build_app(settings)
    return ServerThread(app, build_server(settings, app))


def post(url: str, query: str) -> httpx.Response:
    return httpx.post(f"{url}/graphql", json={"query": query}, timeout=30)


def test_open_circuit_answers_partial_data_and_shows_in_health(tmp_path: Path, subgraph: FlakySubgraph) -> None:
    with serve(tmp_path, subgraph, circuit_breaker_min_requests=3, circuit_breaker_cooldown=0.5,
               circuit_breaker_half_open_probes=1) as gw:
        assert post(gw.url, "{ hello steady }").json() == {"data": {"hello": "world", "steady": "fine"}}
        assert httpx.get(f"{gw.url}/health/ready").json()["subgraphs"]["flaky"]["circuit"]["state"] == "closed"
        subgraph.set("503")
        # with the success above, the window holds 3 requests after two failures: 2 of 3 open it
        for _ in range(2):
            failed = post(gw.url, "{ hello steady }")
            assert failed.status_code == 200
            assert failed.json()["errors"][0]["extensions"]["code"] == "SUBGRAPH_FETCH_FAILED"
        answer = post(gw.url, "{ hello steady }")
        assert answer.status_code == 200
        body = answer.json()
        assert body["data"] == {"hello": None, "steady": "fine"}
        assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [(["hello"], SUBGRAPH_CIRCUIT_OPEN)]
        assert subgraph.requests == 2  # the third never reached it

        ready = httpx.get(f"{gw.url}/health/ready")
        assert ready.status_code == 200  # health.check_subgraphs is off: reported, not failing
        assert ready.json()["status"] == "warn"
        flaky_health = ready.json()["subgraphs"]["flaky"]
        assert flaky_health["status"] == "fail"
        assert flaky_health["circuit"]["state"] == "open"
        assert flaky_health["circuit"]["opened"] == 1
        assert httpx.get(f"{gw.url}/health/live").json() == {"status": "pass", "supergraph": ready.json()["supergraph"]}

        subgraph.set("ok")
        wait_until(lambda: post(gw.url, "{ hello }").json() == {"data": {"hello": "world"}}, what="recovery")
        assert httpx.get(f"{gw.url}/health/ready").json()["subgraphs"]["flaky"]["circuit"]["state"] == "closed"


def test_ready_fails_on_an_open_circuit_when_subgraphs_are_checked(tmp_path: Path, subgraph: FlakySubgraph) -> None:
    with serve(tmp_path, subgraph, health_check_subgraphs=True, circuit_breaker_min_requests=2,
               circuit_breaker_cooldown=0.5, circuit_breaker_half_open_probes=1) as gw:
        assert httpx.get(f"{gw.url}/health/ready").status_code == 200
        subgraph.set("close")
        post(gw.url, "{ hello }")
        post(gw.url, "{ hello }")
        ready = httpx.get(f"{gw.url}/health/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "fail"
        assert httpx.get(f"{gw.url}/health").status_code == 503
        assert httpx.get(f"{gw.url}/health/live").status_code == 200  # liveness never asks subgraphs
        subgraph.set("ok")
        wait_until(lambda: post(gw.url, "{ hello }").json() == {"data": {"hello": "world"}}, what="recovery")
        assert httpx.get(f"{gw.url}/health/ready").status_code == 200


def test_probes_follow_a_subgraph_down_and_up(tmp_path: Path, subgraph: FlakySubgraph) -> None:
    with serve(tmp_path, subgraph, health_check_subgraphs=True, health_probe_interval=0.1,
               circuit_breaker_enabled=False) as gw:
        def ready_status() -> int:
            return httpx.get(f"{gw.url}/health/ready").status_code

        wait_until(lambda: "probe" in httpx.get(f"{gw.url}/health/ready").json().get("subgraphs", {}).get("steady", {}),
                   what="first probe")
        assert ready_status() == 200
        subgraph.set("503")
        wait_until(lambda: ready_status() == 503, what="failed probe")
        probe = httpx.get(f"{gw.url}/health/ready").json()["subgraphs"]["flaky"]["probe"]
        assert probe["ok"] is False
        assert probe["error"] == "HTTP 503"
        subgraph.set("ok")
        wait_until(lambda: ready_status() == 200, what="probe recovery")


def test_resilience_settings_from_yaml_and_environment(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(
        "circuit_breaker:\n  enabled: false\n  window: 30\n  error_rate: 0.25\n  min_requests: 50\n"
        "  cooldown: 10\n  half_open_probes: 5\n"
        "retry:\n  attempts: 3\n  backoff: 0.1\n  max_backoff: 2\n  max_retry_after: 5\n"
        "  budget_ratio: 0.1\n  budget_min_per_second: 2\n"
        "dedup_queries: false\nhealth:\n  check_subgraphs: true\n  probe_interval: 15\n"
    )
    settings = Settings.load(config, environ={"GATEWAY_RETRY_ATTEMPTS": "1", "GATEWAY_DEDUP_QUERIES": "on"})
    assert (settings.circuit_breaker_enabled, settings.circuit_breaker_window, settings.circuit_breaker_error_rate,
            settings.circuit_breaker_min_requests, settings.circuit_breaker_cooldown,
            settings.circuit_breaker_half_open_probes) == (False, 30.0, 0.25, 50, 10.0, 5)
    assert (settings.retry_attempts, settings.retry_backoff, settings.retry_max_backoff,
            settings.retry_max_retry_after, settings.retry_budget_ratio,
            settings.retry_budget_min_per_second) == (1, 0.1, 2.0, 5.0, 0.1, 2.0)
    assert settings.dedup_queries is True
    assert (settings.health_check_subgraphs, settings.health_probe_interval) == (True, 15.0)
    defaults = Settings()
    assert defaults.circuit_breaker_enabled and defaults.retry_attempts > 0 and defaults.dedup_queries


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("circuit_breaker:\n  error_rate: 1.5\n", "circuit_breaker.error_rate: must be between 0 and 1"),
    ("circuit_breaker:\n  min_requests: 0\n", "circuit_breaker.min_requests: must be positive"),
    ("circuit_breaker:\n  colldown: 3\n", "circuit_breaker: unknown key 'colldown'"),
    ("retry:\n  attempts: -1\n", "retry.attempts: must not be negative"),
    ("retry:\n  attempts: 1.5\n", "retry.attempts: cannot use 1.5"),
    ("health:\n  check_subgraphs: maybe\n", "health.check_subgraphs: cannot use 'maybe'"),
    ("dedup_queries: sometimes\n", "dedup_queries: cannot use 'sometimes'"),
])
def test_bad_resilience_settings_name_the_key(tmp_path: Path, yaml_text: str, message: str) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(yaml_text)
    with pytest.raises(SettingsError) as raised:
        Settings.load(config, environ={})
    assert str(raised.value).endswith(message) or str(raised.value).startswith(message)
