"""The gateway's request log line and the JSON log format."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from gateway.settings import Settings, SettingsError
from gateway.telemetry.logging import CorrelationFilter, JsonFormatter, TextFormatter
from subgraphs.common.app import create_app
from subgraphs.registry import load_definition
from tests.support.servers import ServerThread, free_socket
from tests.support.subgraphs import prepare_database, subgraph_settings

from .auth_stack import Served, serving_gateway
from .harness import closed_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gateway() -> Iterator[Served]:
    with closed_port() as port:
        settings = Settings.from_mapping(
            {
                "supergraph": ROOT / "schema" / "supergraph.graphql",
                "poll_interval": 0,
                "log_level": "warning",
                "subgraph_urls": {"catalog": f"http://127.0.0.1:{port}/graphql"},
                "retry_attempts": 0,
                "log_format": "json",
            }
        )
        with serving_gateway(settings) as gw:
            yield gw


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [orjson.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "gateway.request"]


def test_one_json_line_per_request_with_correlation_id(gateway: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gateway.request")
    response = gateway.post(
        "query Cats { categories { name } }", None, **{"x-request-id": "req-42", "apollographql-client-name": "web"}
    )
    assert response.headers["x-request-id"] == "req-42"
    [line] = request_lines(caplog)
    assert set(line) >= {
        "time",
        "level",
        "logger",
        "message",
        "requestId",
        "operationType",
        "operationName",
        "status",
        "durationMs",
        "tenant",
        "client",
        "errors",
    }
    assert line["requestId"] == "req-42" and line["operationType"] == "query" and line["operationName"] == "Cats"
    assert line["status"] == 200 and line["client"] == "web" and line["tenant"] is None
    assert line["errors"] == ["SUBGRAPH_FETCH_FAILED"]
    assert isinstance(line["durationMs"], float) and line["level"] == "info"


def test_every_line_of_a_request_carries_its_id(gateway: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(CorrelationFilter())
    caplog.set_level(logging.INFO)
    gateway.post("query Cats { categories { name } }", None, **{"x-request-id": "req-43"})
    transport = [r for r in caplog.records if r.name == "gateway.transport"]
    assert transport, [r.name for r in caplog.records]
    assert all(orjson.loads(JsonFormatter().format(r))["requestId"] == "req-43" for r in transport)


def test_a_subgraph_line_carries_the_gateway_id(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    database = f"sqlite+aiosqlite:///{(tmp_path / 'catalog.db').as_posix()}"
    prepare_database("catalog", database)
    sock = free_socket()
    settings = subgraph_settings("catalog", database, port=int(sock.getsockname()[1]))
    caplog.handler.addFilter(CorrelationFilter())
    caplog.set_level(logging.INFO)
    with ServerThread(create_app(load_definition("catalog"), settings), sock=sock) as catalog:
        response = httpx.post(
            catalog.url + "/graphql",
            json={"query": "{ __typename }"},
            headers={"authorization": "Basic eDp5", "x-request-id": "req-44"},
        )
    assert response.status_code == 401
    [refusal] = [r for r in caplog.records if "refused a request" in r.getMessage()]
    line = orjson.loads(JsonFormatter().format(refusal))
    assert line["requestId"] == "req-44"


def test_a_generated_id_is_logged_and_answered(gateway: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gateway.request")
    response = httpx.post(gateway.url + "/graphql", content=b"{", headers={"content-type": "application/json"})
    assert response.status_code == 400
    [line] = request_lines(caplog)
    assert line["requestId"] == response.headers["x-request-id"] and line["status"] == 400
    assert line["errors"] == ["BAD_REQUEST"]


def test_text_format_appends_the_fields() -> None:
    record = logging.LogRecord("gateway.request", logging.INFO, __file__, 1, "query Cats", None, None)
    record.fields = {"requestId": "abc", "status": 200, "tenant": None}
    text = TextFormatter().format(record)
    assert text.endswith("query Cats requestId=abc status=200")


def test_log_format_setting() -> None:
    assert Settings.load(environ={"GATEWAY_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(SettingsError, match="log_format"):
        Settings.from_mapping({"log_format": "xml"})
