"""graphql-sse (distinct connections) and Apollo multipart subscriptions on /graphql against a
real uvicorn server, and the plain JSON refusal that names the protocols."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import pytest

from tests.gateway_http.harness import wait_until
from tests.support.request_id import tagged

from .clients import MULTIPART_ACCEPT, SseEvent, multipart_parts, sse_events
from .ticker import Edge

TICKS = 'subscription { ticks(topic: "%s") { n topic } }'


def tick(n: int, topic: str) -> dict[str, object]:
    return {"data": {"ticks": {"n": n, "topic": topic, "pad": None}}}


def publish_when_subscribed(edge: Edge, topic: str, *numbers: int, final: dict[str, Any] | None = None) -> None:
    """From another thread: wait for the subscriber, then publish (the test thread reads the stream)."""

    def run() -> None:
        wait_until(lambda: edge.ticker.subscribers(topic) >= 1, what=f"{topic} subscribed")
        for n in numbers:
            time.sleep(0.05)
            edge.ticker.publish(topic, n)
        if final is not None:
            edge.ticker.publish(topic, 99, final=True, payload=final)

    threading.Thread(target=run, daemon=True).start()


def events(edge: Edge, query: str, *, method: str = "POST", count: int = 10, **headers: str) -> list[SseEvent | None]:
    """Up to ``count`` SSE items (None = heartbeat) until ``complete``."""
    seen: list[SseEvent | None] = []
    request: dict[str, Any] = {"json": {"query": query}} if method == "POST" else {"params": {"query": query}}
    with httpx.stream(
        method, edge.url, headers={"accept": "text/event-stream", **headers}, timeout=10, **request
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-request-id"] == headers.get("x-request-id", response.headers["x-request-id"])
        for item in sse_events(response):
            seen.append(item)
            if (item is not None and item.event == "complete") or len(seen) >= count:
                break
    return seen


def test_sse_events_with_ids_heartbeats_and_complete(edge: Edge) -> None:
    final = {"errors": [{"message": "bye", "extensions": {"code": "SUBSCRIPTION_SCHEMA_RELOAD"}}]}
    publish_when_subscribed(edge, "sse", 1, 2, final=final)
    seen = events(edge, TICKS % "sse", authorization=f"Bearer {edge.token(tid='T1')}", **{"x-request-id": "sse-1"})
    items = [e for e in seen if e is not None]
    assert [(e.event, e.id, e.data) for e in items] == [
        ("next", "sse:1", tick(1, "sse")),
        ("next", "sse:2", tick(2, "sse")),
        ("next", "sse:99", tagged(final, "sse-1")),  # the event's errors carry this subscriber's request id
        ("complete", None, None),
    ]
    assert edge.ticker.opened[-1].headers["x-request-id"] == "sse-1"  # the one the subgraphs get
    assert edge.ticker.opened[-1].principal.tenant_id == "T1"
    wait_until(lambda: edge.ticker.subscribers("sse") == 0, what="stream closed")


def test_sse_heartbeat_while_idle_and_resume_with_last_event_id(edge: Edge) -> None:
    seen = events(edge, TICKS % "idle", method="GET", count=3, **{"last-event-id": "idle:41"})
    assert seen == [None, None, None]  # comments every 0.3 s while nothing happens
    assert edge.ticker.opened[-1].last_event_id == "idle:41"
    wait_until(lambda: edge.ticker.subscribers("idle") == 0, what="client gone: stream closed")


def test_sse_query_and_refusals_are_events(edge: Edge) -> None:
    answered = [e for e in events(edge, '{ hello(name: "sse") }') if e is not None]
    assert [(e.event, e.data) for e in answered] == [("next", {"data": {"hello": "hello sse"}}), ("complete", None)]
    refused = [e for e in events(edge, "subscription { nope }") if e is not None]
    assert refused[0].event == "next" and refused[0].data["errors"][0]["extensions"]["code"] == (
        "GRAPHQL_VALIDATION_FAILED"
    )
    assert refused[1].event == "complete"
    mutation_over_get = [e for e in events(edge, "mutation { bump }", method="GET") if e is not None]
    assert mutation_over_get[0].data["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


def test_sse_bad_token_is_a_401(edge: Edge) -> None:
    response = httpx.post(
        edge.url,
        json={"query": TICKS % "x"},
        timeout=10,
        headers={"accept": "text/event-stream", "authorization": "Bearer nope"},
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_sse_token_expiry_ends_the_stream(edge: Edge) -> None:
    token = edge.token(exp=int(time.time()) + 2)
    seen = events(edge, TICKS % "sse-exp", count=100, authorization=f"Bearer {token}")
    items = [e for e in seen if e is not None]
    assert items[0].event == "next" and items[0].data["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert items[1].event == "complete"
    wait_until(lambda: edge.ticker.subscribers("sse-exp") == 0, what="stream closed")


def parts(edge: Edge, query: str, *, count: int = 10, **headers: str) -> list[Any]:
    seen: list[Any] = []
    with httpx.stream(
        "POST", edge.url, json={"query": query}, timeout=10, headers={"accept": MULTIPART_ACCEPT, **headers}
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == 'multipart/mixed;boundary="graphql";subscriptionSpec="1.0"'
        assert response.headers["x-request-id"] == headers.get("x-request-id", response.headers["x-request-id"])
        for part in multipart_parts(response):
            seen.append(part)
            if part == "END" or len(seen) >= count:
                break
    return seen


def test_multipart_payloads_heartbeats_and_end(edge: Edge) -> None:
    publish_when_subscribed(edge, "mp", 1, 2)
    seen = parts(edge, TICKS % "mp", count=4)
    payloads = [p for p in seen if p != {}]
    assert payloads[:2] == [{"payload": tick(1, "mp")}, {"payload": tick(2, "mp")}]
    idle = parts(edge, TICKS % "mp-idle", count=2)
    assert idle == [{}, {}]  # heartbeats while idle


def test_multipart_transport_error_ends_it(edge: Edge) -> None:
    failed = {"errors": [{"message": "subgraph gone", "extensions": {"code": "SUBGRAPH_SUBSCRIPTION_FAILED"}}]}
    publish_when_subscribed(edge, "mp-fail", 1, final=failed)
    seen = [p for p in parts(edge, TICKS % "mp-fail", **{"x-request-id": "mp-1"}) if p != {}]
    assert seen == [
        {"payload": tick(1, "mp-fail")},
        {"payload": None, "errors": tagged(failed["errors"], "mp-1")},
        "END",
    ]


def test_stream_refusals_and_query_errors_carry_the_generated_request_id(edge: Edge) -> None:
    for accept, body in (
        ("text/event-stream", {"query": "subscription { nope }"}),
        (MULTIPART_ACCEPT, {"query": "{ nope }"}),
    ):
        with httpx.stream("POST", edge.url, json=body, timeout=10, headers={"accept": accept}) as response:
            request_id = response.headers["x-request-id"]  # generated: the client sent none
            text = response.read().decode()
        assert len(request_id) == 32
        assert text.count('"requestId":"' + request_id + '"') == 1, text
    # a query run once over graphql-sse (GET): the endpoint's refusal, written by the stream
    mutation_over_get = [
        e for e in events(edge, "mutation { bump }", method="GET", **{"x-request-id": "sse-get"}) if e is not None
    ]
    assert mutation_over_get[0].data["errors"][0]["extensions"] == {
        "code": "METHOD_NOT_ALLOWED",
        "requestId": "sse-get",
    }


def test_multipart_query_and_refusal(edge: Edge) -> None:
    assert parts(edge, "{ hello }") == [{"payload": {"data": {"hello": "hello world"}}}, "END"]
    refused = parts(edge, "subscription { nope }")
    assert refused[0]["payload"]["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert refused[1] == "END"


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_plain_json_subscription_names_the_protocols(edge: Edge, method: str) -> None:
    query = TICKS % "plain"
    if method == "POST":
        response = httpx.post(edge.url, json={"query": query}, timeout=10)
    else:
        response = httpx.get(edge.url, params={"query": query}, timeout=10)
    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "OPERATION_NOT_ALLOWED"
    for protocol in ("graphql-transport-ws", "text/event-stream", "subscriptionSpec"):
        assert protocol in error["message"]
    strict = httpx.post(edge.url, json={"query": query}, headers={"accept": "application/graphql-response+json"})
    assert strict.status_code == 400


def test_sse_client_that_never_reads_is_dropped(edge: Edge) -> None:
    body = b'{"query": "subscription { ticks(topic: \\"sse-flood\\", flood: 65536) { n pad } }"}'
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", edge.server.port))
    try:
        sock.sendall(
            b"POST /graphql HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\ncontent-type: application/json\r\n"
            + b"content-length: %d\r\n\r\n" % len(body)
            + body
        )
        wait_until(lambda: edge.ticker.subscribers("sse-flood") == 1, what="flood subscribed")
        flood = next(s for s in edge.ticker.streams if s.topic == "sse-flood")
        wait_until(lambda: edge.ticker.subscribers("sse-flood") == 0, what="the stalled client dropped", limit=30)
        assert flood.produced < 200, flood.produced
    finally:
        sock.close()


def test_sse_connection_lifetime_ends_the_stream(edge_issuer) -> None:  # type: ignore[no-untyped-def]
    from .ticker import running_edge

    with running_edge(edge_issuer, subscriptions_max_connection_lifetime=1) as short:
        items = [e for e in events(short, TICKS % "sse-life", count=100) if e is not None]
        assert items[0].event == "next"
        assert items[0].data["errors"][0]["extensions"]["code"] == "CONNECTION_LIFETIME_EXCEEDED"
        assert items[1].event == "complete"
        wait_until(lambda: short.ticker.active == 0, what="stream closed")


def test_multipart_token_expiry_is_a_transport_error(edge: Edge) -> None:
    token = edge.token(exp=int(time.time()) + 2)
    seen = [p for p in parts(edge, TICKS % "mp-exp", count=100, authorization=f"Bearer {token}") if p != {}]
    assert seen[0]["payload"] is None and seen[0]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert seen[1] == "END"
