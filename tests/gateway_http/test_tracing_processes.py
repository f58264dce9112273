"""One trace across two processes: the gateway in this process, catalog started by ``dpp-subgraph``.

Catalog runs as its own interpreter with ``OTEL_TRACES_EXPORTER=console`` (the standard variables,
nothing test-specific): its spans are printed as JSON to its stdout, which the test reads after
stopping it. The gateway exports to an in-memory exporter. The subgraph's server span must
continue the gateway's fetch span (same trace id, parent = the fetch span's id).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.serve import build_app, build_server
from gateway.settings import Settings
from gateway.telemetry import Telemetry
from tests.support.servers import ServerThread, free_port

from .test_tracing import in_memory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def catalog_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    root = tmp_path_factory.mktemp("trace-processes")
    port = free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(root),
        "CATALOG_DATABASE_URL": f"sqlite+aiosqlite:///{(root / 'catalog.db').as_posix()}",
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        "DPP_ENV": "development",
        "LOG_LEVEL": "warning",
    }
    env.pop("OTEL_SERVICE_NAME", None)
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "dpp-subgraph"), "catalog", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("catalog did not start")
        time.sleep(0.1)
    try:
        yield url, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def printed_spans(text: str) -> list[dict[str, Any]]:
    decoder = json.JSONDecoder()
    spans: list[dict[str, Any]] = []
    index = 0
    while True:
        start = text.find("{", index)
        if start < 0:
            return spans
        span, index = decoder.raw_decode(text, start)
        spans.append(span)


def test_a_trace_spans_the_gateway_and_a_subgraph_process(catalog_process: tuple[str, subprocess.Popen[str]]) -> None:
    url, process = catalog_process
    settings = Settings.from_mapping(
        {
            "supergraph": ROOT / "schema" / "supergraph.graphql",
            "poll_interval": 0,
            "log_level": "warning",
            "subgraph_urls": {"catalog": url + "/graphql"},
        }
    )
    tracing, exporter = in_memory("gateway")
    app = build_app(settings, telemetry=Telemetry.from_settings(settings, tracing=tracing))
    with ServerThread(app, build_server(settings, app)) as gateway:
        response = httpx.post(
            gateway.url + "/graphql", json={"query": "query Cats { categories { name } }"}, timeout=10
        )
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    [fetch] = [s for s in exporter.get_finished_spans() if s.name == "fetch catalog"]
    process.send_signal(signal.SIGTERM)  # a clean shutdown flushes the batched spans
    out, _ = process.communicate(timeout=30)
    spans = printed_spans(out)
    assert spans, "catalog printed no spans"
    trace_id = f"0x{fetch.context.trace_id:032x}"
    ours = [s for s in spans if s["context"]["trace_id"] == trace_id]
    [server] = [s for s in ours if s["kind"] == "SpanKind.SERVER"]
    assert server["parent_id"] == f"0x{fetch.context.span_id:016x}"
    assert server["resource"]["attributes"]["service.name"] == "catalog"
    [operation] = [s for s in ours if s["name"] == "graphql.operation"]
    assert operation["parent_id"] == server["context"]["span_id"]
    statements = [s for s in ours if s["attributes"].get("db.system") == "sqlite"]
    assert statements and all(s["parent_id"] == operation["context"]["span_id"] for s in statements)
