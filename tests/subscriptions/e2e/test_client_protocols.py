"""Subscriptions end to end through the gateway's /graphql with each client protocol.

A viewer of acme subscribes to ``productEvents`` (catalog) selecting ``passportCount`` and
``passports`` (passport subgraph); a manager of acme renames a product with a mutation through
the gateway; the event arrives with fields of both subgraphs. A user of another tenant
subscribed at the same time receives nothing; a token that expires ends the subscription.
"""

from __future__ import annotations

import queue
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.subscriptions.gateway_http.clients import (
    MULTIPART_ACCEPT,
    closed_with,
    init,
    multipart_parts,
    recv,
    sse_events,
    subscribe,
    ws_connect,
)

from .stack import PRODUCT_EVENTS, Reader, Stack


def ws_items(stack: Stack, token: str) -> Iterator[Any]:
    with ws_connect(stack.ws_url) as ws:
        init(ws, token)
        subscribe(ws, "1", PRODUCT_EVENTS)
        while True:
            try:
                message = recv(ws, timeout=0.5)
            except TimeoutError:
                yield None  # nothing yet (the reader can stop here)
                continue
            yield message.get("payload")
            if message["type"] != "next":
                return


def sse_items(stack: Stack, token: str) -> Iterator[Any]:
    headers = {"accept": "text/event-stream", "authorization": f"Bearer {token}"}
    with httpx.stream("POST", stack.graphql, json={"query": PRODUCT_EVENTS}, headers=headers, timeout=60) as response:
        assert response.status_code == 200, response.read()
        for event in sse_events(response):
            yield None if event is None else event.data
            if event is not None and event.event == "complete":
                return


def multipart_items(stack: Stack, token: str) -> Iterator[Any]:
    headers = {"accept": MULTIPART_ACCEPT, "authorization": f"Bearer {token}"}
    with httpx.stream("POST", stack.graphql, json={"query": PRODUCT_EVENTS}, headers=headers, timeout=60) as response:
        assert response.status_code == 200, response.read()
        for part in multipart_parts(response):
            if part == "END":
                return
            if part == {}:
                yield None  # heartbeat
            elif part.get("payload") is None:
                yield {"errors": part["errors"]}  # transport-level error
            else:
                yield part["payload"]


READERS = {"graphql-transport-ws": ws_items, "graphql-sse": sse_items, "multipart": multipart_items}


@pytest.mark.parametrize("protocol", list(READERS))
def test_event_with_fields_of_two_subgraphs_and_nothing_for_another_tenant(stack: Stack, protocol: str) -> None:
    read = READERS[protocol]
    before = stack.metric("gateway_subscriptions_opened_total")
    viewer = Reader(lambda: read(stack, stack.token("acme-viewer")))
    stranger = Reader(lambda: read(stack, stack.token("greenloop-admin")))
    try:
        stack.wait_opened(before, 2)
        name = f"Cell Pack {uuid.uuid4().hex[:6]}"
        product = stack.rename_product(name)
        payload = viewer.next()
        assert "errors" not in payload, payload
        event = payload["data"]["productEvents"]
        assert (event["id"], event["name"], event["version"]) == (product["id"], name, product["version"])
        assert isinstance(event["passportCount"], int) and event["passportCount"] >= 1  # from the passport subgraph
        assert event["passports"] and all(p["name"] for p in event["passports"])
        with pytest.raises(queue.Empty):
            stranger.next(timeout=1.5)
    finally:
        viewer.stop()
        stranger.stop()


def test_token_expiry_ends_the_subscription(stack: Stack) -> None:
    token = stack.short_token("acme-viewer", 3)
    with ws_connect(stack.ws_url) as ws:
        init(ws, token)
        subscribe(ws, "1", PRODUCT_EVENTS)
        message = recv(ws, timeout=15)
        assert message["type"] == "next", message
        assert message["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", message
        assert recv(ws) == {"id": "1", "type": "complete"}
        assert closed_with(ws)[0] == 4403


def test_subscription_over_plain_post_names_the_protocols(stack: Stack) -> None:
    body = stack.post(PRODUCT_EVENTS, token=stack.token("acme-viewer"))
    error = body["errors"][0]
    assert error["extensions"]["code"] == "OPERATION_NOT_ALLOWED"
    assert "graphql-transport-ws" in error["message"] and "text/event-stream" in error["message"]


def test_query_over_websocket_runs_through_the_gateway(stack: Stack) -> None:
    with ws_connect(stack.ws_url) as ws:
        init(ws, stack.token("acme-viewer"))
        subscribe(ws, "q", "{ products(first: 1) { nodes { name passportCount } } }")
        message = recv(ws)
        assert message["type"] == "next" and "errors" not in message["payload"], message
        assert message["payload"]["data"]["products"]["nodes"][0]["name"]
        assert recv(ws) == {"id": "q", "type": "complete"}


def test_sse_resume_with_last_event_id(stack: Stack) -> None:
    """An SSE client that lost its connection comes back with Last-Event-ID and gets the event it missed."""
    token = stack.token("acme-viewer")
    headers = {"accept": "text/event-stream", "authorization": f"Bearer {token}"}
    before = stack.metric("gateway_subscriptions_opened_total")
    first = Reader(lambda: sse_events_of(stack, headers))
    stack.wait_opened(before)
    stack.rename_product(f"Cell Pack {uuid.uuid4().hex[:6]}")
    seen = first.next()
    assert seen.id, seen
    first.stop()
    events = stack.metric("gateway_subscription_upstream_events_total")
    missed = stack.rename_product(f"Cell Pack {uuid.uuid4().hex[:6]}")  # while nobody listens
    deadline = time.monotonic() + 10
    while stack.metric("gateway_subscription_upstream_events_total") <= events:  # the gateway has it (buffered)
        assert time.monotonic() < deadline, "the event never reached the gateway"
        time.sleep(0.05)
    again = Reader(lambda: sse_events_of(stack, {**headers, "last-event-id": seen.id}))
    replayed = again.next()
    assert replayed.data["data"]["productEvents"]["name"] == missed["name"], replayed
    again.stop()


def sse_events_of(stack: Stack, headers: dict[str, str]) -> Iterator[Any]:
    with httpx.stream("POST", stack.graphql, json={"query": PRODUCT_EVENTS}, headers=headers, timeout=60) as response:
        assert response.status_code == 200
        yield from sse_events(response)
