"""SIGTERM to a real ``gateway serve`` process while an SSE / multipart subscriber is connected.

uvicorn's HTTP protocol does not tell an application that the server stops; before the
streaming responses listened for it (gateway/http/guards.py STREAM_SHUTDOWN), an open stream
held the shutdown for the whole ``shutdown_timeout`` (30 s here) and the client's stream was cut
without its end. Now the stream ends at once with SERVER_SHUTTING_DOWN and the protocol's end.
A WebSocket subscriber gets 1012. And, on the same kind of real process (gateway serve's own WebSocket
protocol, the service's subscribers written to directly): a WebSocket subscriber that never reads.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.servers import free_socket

from ..gateway_core.stubs import Broker, StubServer, prices_server, stock_server, supergraph

SSE = "text/event-stream"
MULTIPART = 'multipart/mixed;subscriptionSpec="1.0"'
ENDS = {SSE: b"event: complete\ndata:\n\n", MULTIPART: b"\r\n--graphql--\r\n"}


@pytest.fixture(scope="module")
def stubs() -> Iterator[tuple[Broker, StubServer, StubServer]]:
    broker = Broker()
    stock, prices = stock_server(broker).start(), prices_server().start()
    try:
        yield broker, stock, prices
    finally:
        stock.stop()
        prices.stop()


def _serve(supergraph_path: Path, **settings: str) -> tuple[subprocess.Popen[bytes], str]:
    sock = free_socket()
    port = int(sock.getsockname()[1])
    sock.close()
    env = {**os.environ, "GATEWAY_LOG_LEVEL": "warning", "GATEWAY_SHUTDOWN_TIMEOUT": "30", **settings}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--supergraph", str(supergraph_path), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        try:
            if httpx.get(url + "/health/ready", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the gateway process did not become ready"
        time.sleep(0.1)


def _serve_stubs(
    stubs: tuple[Broker, StubServer, StubServer], tmp_path: Path, **settings: str
) -> tuple[subprocess.Popen[bytes], str]:
    """gateway serve on the stubs' supergraph (``settings``: GATEWAY_* environment)."""
    path = tmp_path / "supergraph.graphql"
    path.write_text(supergraph(stubs[1].url, stubs[2].url))
    return _serve(path, **settings)


def _wait_upstream(broker: Broker, before: int) -> None:
    deadline = time.monotonic() + 15
    while broker.active <= before:
        assert time.monotonic() < deadline, "the upstream subscription did not open"
        time.sleep(0.02)


def _ws_connections(url: str) -> float:
    for line in httpx.get(url + "/metrics", timeout=10).text.splitlines():
        if line.startswith('gateway_subscription_connections{protocol="graphql-transport-ws"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.timeout(120)
@pytest.mark.parametrize("accept", [SSE, MULTIPART], ids=["sse", "multipart"])
def test_sigterm_ends_an_open_stream_at_once(
    stubs: tuple[Broker, StubServer, StubServer], tmp_path: Path, accept: str
) -> None:
    broker = stubs[0]
    process, url = _serve_stubs(stubs, tmp_path)
    try:
        before = broker.active
        query = {"query": "subscription { itemEvents { id name price } }"}
        with httpx.stream("POST", url + "/graphql", json=query, headers={"accept": accept}, timeout=15) as response:
            assert response.status_code == 200
            chunks = response.iter_raw()
            _wait_upstream(broker, before)
            broker.publish("1", "first")
            body = b""
            while b'"first"' not in body:
                body += next(chunks)
            process.send_signal(signal.SIGTERM)
            stopped = time.monotonic()
            for chunk in chunks:  # the stream ends (a ReadTimeout after 15 s before the fix)
                body += chunk
            ended = time.monotonic() - stopped
        assert b"SERVER_SHUTTING_DOWN" in body, body[-400:]
        # the farewell's error carries the stream's request id, as every error does
        farewell = body[body.index(b"SERVER_SHUTTING_DOWN") :]
        assert b'"requestId":"' + response.headers["x-request-id"].encode() + b'"' in farewell, body[-400:]
        assert body.endswith(ENDS[accept]), body[-200:]
        assert ended < 5, ended
        process.wait(timeout=10)
        assert time.monotonic() - stopped < 10
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.timeout(120)
def test_sigterm_closes_an_open_websocket_with_1012_at_once(
    stubs: tuple[Broker, StubServer, StubServer], tmp_path: Path
) -> None:
    """gateway serve's own WebSocket protocol (gateway/http/ws_protocol.py) takes part in uvicorn's graceful
    shutdown: an open subscriber's socket is closed with 1012 (service restart) and the process exits."""
    from .clients import closed_with, init, recv, subscribe, ws_connect

    broker = stubs[0]
    process, url = _serve_stubs(stubs, tmp_path)
    try:
        before = broker.active
        with ws_connect(url.replace("http://", "ws://") + "/graphql") as ws:
            init(ws)
            subscribe(ws, "1", "subscription { itemEvents { id name price } }")
            _wait_upstream(broker, before)
            broker.publish("1", "first")
            assert recv(ws, timeout=10)["payload"]["data"]["itemEvents"]["name"] == "first"
            process.send_signal(signal.SIGTERM)
            stopped = time.monotonic()
            assert closed_with(ws, timeout=10)[0] == 1012
            closed = time.monotonic() - stopped
        process.wait(timeout=10)
        assert closed < 5, closed
        assert time.monotonic() - stopped < 10
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.timeout(120)
def test_a_subscriber_that_never_reads_is_dropped_and_the_others_go_on(
    stubs: tuple[Broker, StubServer, StubServer], tmp_path: Path
) -> None:
    """The service's subscriber written to directly by the fan-out (gateway serve's protocol): a client that
    never reads fills its socket, its events wait in its bounded queue (the oldest dropped), the send
    timeout drops it; a subscriber of the same upstream gets every event meanwhile."""
    from .clients import StalledWebSocket, init, recv, subscribe, ws_connect

    broker = stubs[0]
    process, url = _serve_stubs(
        stubs, tmp_path, GATEWAY_SUBSCRIPTIONS_SEND_TIMEOUT="1", GATEWAY_SUBSCRIPTIONS_QUEUE_SIZE="4"
    )
    ws_url = url.replace("http://", "ws://") + "/graphql"
    query = "subscription { itemEvents { id name price } }"
    stalled = StalledWebSocket(ws_url)
    try:
        before = broker.active
        stalled.send({"type": "connection_init"})
        stalled.send({"id": "s", "type": "subscribe", "payload": {"query": query}})
        with ws_connect(ws_url) as reader:
            init(reader)
            subscribe(reader, "r", query)
            deadline = time.monotonic() + 15
            while broker.active <= before or _ws_connections(url) < 2:
                assert time.monotonic() < deadline, "the subscriptions did not open"
                time.sleep(0.05)
            big = "x" * 65536
            for n in range(60):  # ~4 MB for a client whose socket takes a few KB
                broker.publish(str(n), big)
                assert recv(reader, timeout=10)["payload"]["data"]["itemEvents"]["id"] == str(n)
            deadline = time.monotonic() + 15
            while _ws_connections(url) > 1:
                assert time.monotonic() < deadline, "the stalled client was not dropped"
                time.sleep(0.1)
            broker.publish("after", "small")
            assert recv(reader, timeout=10)["payload"]["data"]["itemEvents"]["id"] == "after"
    finally:
        stalled.close()
        process.terminate()
        process.wait(timeout=30)
