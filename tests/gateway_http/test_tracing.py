"""One trace across the gateway and a subgraph, each server with its own tracer provider.

The gateway and catalog run as separate uvicorn servers (threads with their own event loops)
on loopback; each exports to its own in-memory exporter. Catalog's spans come from its own
request handling after it extracted the ``traceparent`` the gateway injected: they share the
gateway's trace id, catalog's server span is a child of the gateway's fetch span, and its
operation and SQL statement spans are children of its server span.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gateway.serve import build_app, build_server
from gateway.settings import Settings
from gateway.telemetry import Telemetry, Tracing
from gateway.telemetry.tracing import exporter_from_environment
from subgraphs.common.app import create_app
from subgraphs.registry import load_definition
from tests.support.servers import ServerThread, free_socket
from tests.support.subgraphs import prepare_database, subgraph_settings

ROOT = Path(__file__).resolve().parents[2]
CLIENT_TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def in_memory(service: str, *, include_document: bool = False) -> tuple[Tracing, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Tracing(provider, include_document=include_document), exporter


@dataclass
class Traced:
    gateway_url: str
    gateway: InMemorySpanExporter
    catalog: InMemorySpanExporter


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Traced]:
    root = tmp_path_factory.mktemp("tracing")
    database = f"sqlite+aiosqlite:///{(root / 'catalog.db').as_posix()}"
    prepare_database("catalog", database)
    sock = free_socket()
    catalog_tracing, catalog_spans = in_memory("catalog")
    settings = subgraph_settings("catalog", database, port=int(sock.getsockname()[1]))
    with ServerThread(create_app(load_definition("catalog"), settings, tracing=catalog_tracing), sock=sock) as cat:
        gateway_settings = Settings.from_mapping(
            {
                "supergraph": ROOT / "schema" / "supergraph.graphql",
                "poll_interval": 0,
                "log_level": "warning",
                "subgraph_urls": {"catalog": cat.url + "/graphql"},
                "tracing_include_document": True,
            }
        )
        gateway_tracing, gateway_spans = in_memory("gateway", include_document=True)
        telemetry = Telemetry.from_settings(gateway_settings, tracing=gateway_tracing)
        app = build_app(gateway_settings, telemetry=telemetry)
        with ServerThread(app, build_server(gateway_settings, app)) as gw:
            yield Traced(gw.url, gateway_spans, catalog_spans)


def by_name(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def finished_server_spans(exporter: InMemorySpanExporter) -> tuple[ReadableSpan, ...]:
    """The subgraph's spans once its server span ended (it ends after the response is sent)."""
    deadline = time.monotonic() + 5
    while not any(s.kind is SpanKind.SERVER for s in exporter.get_finished_spans()):
        assert time.monotonic() < deadline, "the subgraph's server span never ended"
        time.sleep(0.01)
    return exporter.get_finished_spans()


def test_one_trace_covers_gateway_and_subgraph(traced: Traced) -> None:
    traced.gateway.clear()
    traced.catalog.clear()
    query = "query Cats { categories { name } }"
    response = httpx.post(
        traced.gateway_url + "/graphql", json={"query": query}, headers={"traceparent": CLIENT_TRACE}, timeout=10
    )
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    gateway = traced.gateway.get_finished_spans()
    catalog = finished_server_spans(traced.catalog)
    [request] = by_name(gateway, "query Cats")
    trace_id = request.context.trace_id
    # the client's traceparent is honoured: the gateway joins the caller's trace
    assert f"{trace_id:032x}" == CLIENT_TRACE.split("-")[1]
    assert request.kind is SpanKind.SERVER
    assert request.attributes is not None
    assert request.attributes["graphql.operation.type"] == "query"
    assert request.attributes["graphql.operation.name"] == "Cats"
    assert request.attributes["graphql.document"] == query
    assert request.attributes["http.response.status_code"] == 200
    stages = {s.name: s for s in gateway if s.name.startswith("graphql.")}
    assert {"graphql.parse", "graphql.validate", "graphql.plan", "graphql.execute"} <= set(stages)
    for name in ("graphql.parse", "graphql.validate", "graphql.execute"):
        parent = stages[name].parent
        assert parent is not None and parent.span_id == request.context.span_id, name
    [fetch] = by_name(gateway, "fetch catalog")
    assert fetch.kind is SpanKind.CLIENT
    assert fetch.parent is not None and fetch.parent.span_id == stages["graphql.execute"].context.span_id
    assert fetch.attributes is not None and fetch.attributes["graphql.subgraph.name"] == "catalog"
    assert fetch.attributes["http.response.status_code"] == 200
    # catalog: its server span continues the gateway's fetch span
    assert all(s.context.trace_id == trace_id for s in catalog), catalog
    [server] = [s for s in catalog if s.kind is SpanKind.SERVER]
    assert server.parent is not None and server.parent.span_id == fetch.context.span_id
    assert server.parent.is_remote
    assert server.resource.attributes[SERVICE_NAME] == "catalog"
    [operation] = by_name(catalog, "graphql.operation")
    assert operation.parent is not None and operation.parent.span_id == server.context.span_id
    statements = [s for s in catalog if s.attributes and s.attributes.get("db.system") == "sqlite"]
    assert statements and all(s.name == "SELECT" or s.name for s in statements)
    assert all(s.parent is not None and s.parent.span_id == operation.context.span_id for s in statements)
    assert any("categor" in str(s.attributes.get("db.statement", "")).lower() for s in statements if s.attributes), [
        s.attributes for s in statements
    ]


def test_a_cached_plan_has_no_planning_spans(traced: Traced) -> None:
    query = "query Again { categories { name } }"
    httpx.post(traced.gateway_url + "/graphql", json={"query": query}, timeout=10)
    traced.gateway.clear()
    httpx.post(traced.gateway_url + "/graphql", json={"query": query}, timeout=10)
    names = {s.name for s in traced.gateway.get_finished_spans()}
    assert "query Again" in names and "graphql.execute" in names
    assert not names & {"graphql.parse", "graphql.validate", "graphql.plan"}


def test_tracing_is_off_unless_the_environment_asks() -> None:
    assert exporter_from_environment({}) is None
    assert (
        exporter_from_environment({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}) is None
    )
    assert exporter_from_environment({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}) is not None
    assert Tracing.from_environment("gateway", environ={}) is None
    with pytest.raises(ValueError, match="unsupported"):
        exporter_from_environment({"OTEL_TRACES_EXPORTER": "zipkin"})
