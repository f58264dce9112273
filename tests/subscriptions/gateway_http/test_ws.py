"""graphql-transport-ws on the gateway's /graphql, against a real uvicorn server: the protocol's
happy paths, and each bad input closing with its code while the gateway and another subscriber
carry on."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.gateway_http.harness import wait_until
from tests.support.request_id import tagged

from .clients import closed_with, init, recv, send, subscribe, ws_connect
from .ticker import Edge

TICKS = 'subscription { ticks(topic: "%s") { n topic } }'


def tick(n: int, topic: str) -> dict[str, object]:
    return {"data": {"ticks": {"n": n, "topic": topic, "pad": None}}}


def connections(edge: Edge, protocol: str = "graphql-transport-ws") -> float:
    text = httpx.get(f"{edge.server.url}/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith(f'gateway_subscription_connections{{protocol="{protocol}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture
def bystander(edge: Edge):  # type: ignore[no-untyped-def]
    """Another subscriber, open while a test misbehaves; it must still get its event afterwards."""
    ws = ws_connect(edge.ws_url)
    init(ws, edge.token())
    subscribe(ws, "b", TICKS % "bystander")
    wait_until(lambda: edge.ticker.subscribers("bystander") == 1, what="bystander subscribed")
    yield ws
    edge.ticker.publish("bystander", 7)
    assert recv(ws) == {"id": "b", "type": "next", "payload": tick(7, "bystander")}
    ws.close()


def test_subscribe_receive_and_complete(edge: Edge) -> None:
    token = edge.token(tid="T1", sub="alice")
    with ws_connect(edge.ws_url) as ws:
        assert ws.subprotocol == "graphql-transport-ws"
        init(ws, token, **{"x-tenant-id": "T1"})
        subscribe(ws, "1", TICKS % "happy")
        wait_until(lambda: edge.ticker.subscribers("happy") == 1, what="subscribed")
        opened = edge.ticker.opened[-1]
        assert opened.principal.user_id == "alice" and opened.principal.tenant_id == "T1"
        assert opened.headers["authorization"] == f"Bearer {token}"
        assert opened.headers["x-tenant-id"] == "T1"
        assert connections(edge) >= 1
        for n in (1, 2):
            edge.ticker.publish("happy", n)
            assert recv(ws) == {"id": "1", "type": "next", "payload": tick(n, "happy")}
        send(ws, {"id": "1", "type": "complete"})
        wait_until(lambda: edge.ticker.subscribers("happy") == 0, what="stream closed by the client's complete")


def test_final_message_then_complete(edge: Edge) -> None:
    with ws_connect(edge.ws_url, headers={"x-request-id": "ws-final"}) as ws:
        init(ws)
        subscribe(ws, "f", TICKS % "final")
        wait_until(lambda: edge.ticker.subscribers("final") == 1, what="subscribed")
        assert edge.ticker.opened[-1].headers["x-request-id"] == "ws-final"  # the upgrade request's id
        ended = {"errors": [{"message": "gone", "extensions": {"code": "SUBSCRIPTION_SCHEMA_RELOAD"}}]}
        edge.ticker.publish("final", 1, final=True, payload=ended)
        # the event's errors carry this connection's request id (the shared event itself is not changed)
        assert recv(ws) == {"id": "f", "type": "next", "payload": tagged(ended, "ws-final")}
        assert recv(ws) == {"id": "f", "type": "complete"}


def test_error_and_next_messages_carry_the_connection_request_id(edge: Edge) -> None:
    with ws_connect(edge.ws_url, headers={"x-request-id": "ws-upgrade"}) as ws:
        init(ws)
        subscribe(ws, "bad", "subscription { nope }")
        refused = recv(ws)
        assert refused["type"] == "error"
        assert [e["extensions"]["requestId"] for e in refused["payload"]] == ["ws-upgrade"]
        # a query run once whose variables the runtime refuses: a next with errors
        subscribe(ws, "q", "query($n: String) { hello(name: $n) }", variables={"n": 5})
        answered = recv(ws)
        assert answered["type"] == "next" and answered["payload"]["errors"]
        assert {e["extensions"]["requestId"] for e in answered["payload"]["errors"]} == {"ws-upgrade"}
    with ws_connect(edge.ws_url) as ws:  # no id anywhere: the gateway's, the one the subgraphs get
        init(ws, **{"x-request-id": "bad id"})  # an unsafe id in connection_init is replaced too
        subscribe(ws, "s", TICKS % "generated")
        wait_until(lambda: edge.ticker.subscribers("generated") == 1, what="subscribed")
        generated = edge.ticker.opened[-1].headers["x-request-id"]
        assert len(generated) == 32
        subscribe(ws, "bad", "subscription {")
        assert recv(ws)["payload"][0]["extensions"]["requestId"] == generated


def test_query_and_mutation_run_once(edge: Edge) -> None:
    with ws_connect(edge.ws_url) as ws:
        init(ws, Authorization=f"Bearer {edge.token()}")  # the capitalised key works too
        subscribe(ws, "q", '{ hello(name: "ws") }')
        assert recv(ws) == {"id": "q", "type": "next", "payload": {"data": {"hello": "hello ws"}}}
        assert recv(ws) == {"id": "q", "type": "complete"}
        subscribe(ws, "m", "mutation { bump }")
        message = recv(ws)
        assert message["type"] == "next" and "bump" in message["payload"]["data"]
        assert recv(ws) == {"id": "m", "type": "complete"}


def test_invalid_operation_gets_an_error_message(edge: Edge) -> None:
    with ws_connect(edge.ws_url) as ws:
        init(ws)
        subscribe(ws, "bad", "subscription { nope }")
        message = recv(ws)
        assert message["type"] == "error" and message["id"] == "bad"
        assert message["payload"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        subscribe(ws, "parse", "subscription {")
        assert recv(ws)["payload"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
        # the connection stays usable
        subscribe(ws, "ok", "{ hello }")
        assert recv(ws)["type"] == "next"


def test_ping_pong_both_ways(edge_issuer) -> None:  # type: ignore[no-untyped-def]
    from .ticker import running_edge

    with running_edge(edge_issuer, subscriptions_ping_interval=0.3) as pinging, ws_connect(pinging.ws_url) as ws:
        send(ws, {"type": "ping", "payload": {"at": 1}})  # allowed before connection_init
        import json

        assert json.loads(ws.recv(timeout=5)) == {"type": "pong", "payload": {"at": 1}}
        init(ws)
        seen = json.loads(ws.recv(timeout=5))
        assert seen == {"type": "ping"}
        send(ws, {"type": "pong"})


@pytest.mark.parametrize(
    ("steps", "code", "reason"),
    [
        ([{"type": "connection_init"}, {"type": "shout"}], 4400, "unknown type"),
        ([{"type": "connection_init"}, "not json"], 4400, "not JSON"),
        ([{"type": "connection_init"}, {"id": "x", "type": "subscribe", "payload": {"query": 5}}], 4400, "subscribe"),
        ([{"type": "connection_init"}, {"type": "connection_init"}], 4429, "Too many initialisation requests"),
        ([{"id": "1", "type": "subscribe", "payload": {"query": "{ hello }"}}], 4401, "Unauthorized"),
        ([{"type": "connection_init", "payload": {"authorization": "Bearer not-a-token"}}], 4403, "Forbidden"),
        ([{"type": "connection_init", "payload": {"authorization": 7}}], 4400, "connection_init"),
    ],
    ids=[
        "unknown-type",
        "not-json",
        "bad-subscribe",
        "second-init",
        "subscribe-before-init",
        "bad-token",
        "bad-payload",
    ],
)
def test_bad_input_closes_with_its_code(
    edge: Edge, bystander: object, steps: list[object], code: int, reason: str
) -> None:
    with ws_connect(edge.ws_url) as ws:
        for step in steps:
            send(ws, step)  # type: ignore[arg-type]
        assert closed_with(ws)[0] == code
    with ws_connect(edge.ws_url) as ws:
        for step in steps:
            send(ws, step)  # type: ignore[arg-type]
        got, why = closed_with(ws)
        assert got == code and reason in why


def test_foreign_tenant_is_forbidden(edge: Edge) -> None:
    with ws_connect(edge.ws_url) as ws:
        send(
            ws,
            {
                "type": "connection_init",
                "payload": {"authorization": f"Bearer {edge.token(tid='T1')}", "x-tenant-id": "T2"},
            },
        )
        code, reason = closed_with(ws)
        assert code == 4403 and "not a member" in reason


def test_duplicate_subscriber_id(edge: Edge, bystander: object) -> None:
    with ws_connect(edge.ws_url) as ws:
        init(ws)
        subscribe(ws, "same", TICKS % "dup")
        subscribe(ws, "same", TICKS % "dup")
        code, reason = closed_with(ws)
        assert code == 4409 and "same" in reason
    wait_until(lambda: edge.ticker.subscribers("dup") == 0, what="the closed connection's stream ended")


def test_init_timeout(edge: Edge) -> None:
    with ws_connect(edge.ws_url) as ws:
        started = time.monotonic()
        assert closed_with(ws) == (4408, "Connection initialisation timeout")
        assert time.monotonic() - started < 4


def test_legacy_subprotocol_is_told_which_one_to_use(edge: Edge) -> None:
    with ws_connect(edge.ws_url, ("graphql-ws",)) as ws:
        code, reason = closed_with(ws)
        assert code == 4406 and "graphql-transport-ws" in reason
    with ws_connect(edge.ws_url, ()) as ws:
        assert closed_with(ws)[0] == 4406


def test_huge_frame_closes_1009(edge: Edge, bystander: object) -> None:
    with ws_connect(edge.ws_url) as ws:
        init(ws)
        subscribe(ws, "big", "{ hello }", variables={"pad": "x" * 10_000})
        code, reason = closed_with(ws)
        assert code == 1009 and "4096" in reason


def test_limit_per_connection(edge: Edge) -> None:
    with ws_connect(edge.ws_url) as ws:
        init(ws)
        for n in range(3):
            subscribe(ws, f"s{n}", TICKS % "limit")
        wait_until(lambda: edge.ticker.subscribers("limit") == 3, what="three subscribed")
        subscribe(ws, "s3", TICKS % "limit")
        message = recv(ws)
        assert message["id"] == "s3" and message["type"] == "error"
        assert message["payload"][0]["extensions"] == {
            "code": "SUBSCRIPTION_LIMIT_REACHED",
            "limit": 3,
            "requestId": edge.ticker.opened[-1].headers["x-request-id"],  # the connection's
        }
        send(ws, {"id": "s0", "type": "complete"})
        wait_until(lambda: edge.ticker.subscribers("limit") == 2, what="one completed")
        subscribe(ws, "s3", TICKS % "limit")
        wait_until(lambda: edge.ticker.subscribers("limit") == 3, what="room again")


def test_token_expiry_ends_subscriptions(edge: Edge) -> None:
    token = edge.token(exp=int(time.time()) + 2)
    with ws_connect(edge.ws_url) as ws:
        init(ws, token)
        subscribe(ws, "e", TICKS % "expiry")
        message = recv(ws, timeout=6)
        assert message["id"] == "e" and message["type"] == "next"
        assert message["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert (
            message["payload"]["errors"][0]["extensions"]["requestId"] == edge.ticker.opened[-1].headers["x-request-id"]
        )
        assert recv(ws) == {"id": "e", "type": "complete"}
        code, reason = closed_with(ws)
        assert code == 4403 and "expired" in reason
    wait_until(lambda: edge.ticker.subscribers("expiry") == 0, what="stream closed")


def test_connection_lifetime(edge_issuer) -> None:  # type: ignore[no-untyped-def]
    from .ticker import running_edge

    with running_edge(edge_issuer, subscriptions_max_connection_lifetime=1) as short, ws_connect(short.ws_url) as ws:
        init(ws)
        subscribe(ws, "l", TICKS % "life")
        code, reason = closed_with(ws)
        assert code == 1001 and "lifetime" in reason
        wait_until(lambda: short.ticker.active == 0, what="stream closed")


def test_client_that_never_reads_is_dropped(edge: Edge, bystander: object) -> None:
    """64 KiB events as fast as the stream gives them to a client that never reads: the gateway's
    writes block, it drops the client after the send timeout (1 s here) and the stream is closed."""
    from .clients import StalledWebSocket

    before = connections(edge)
    stalled = StalledWebSocket(edge.ws_url)
    try:
        stalled.send({"type": "connection_init"})
        stalled.send(
            {
                "id": "flood",
                "type": "subscribe",
                "payload": {"query": 'subscription { ticks(topic: "flood", flood: 65536) { n pad } }'},
            }
        )
        wait_until(lambda: edge.ticker.subscribers("flood") == 1, what="flood subscribed")
        flood = next(s for s in edge.ticker.streams if s.topic == "flood")
        wait_until(lambda: edge.ticker.subscribers("flood") == 0, what="the stalled client dropped", limit=30)
        # the gateway wrote until the socket buffers were full, then stopped asking for more
        # (46 events of 64 KiB on loopback here: the kernel's socket buffers; nothing piles up in the gateway)
        assert flood.produced < 200, flood.produced
        wait_until(lambda: connections(edge) <= before, what="connection gauge back down")
    finally:
        stalled.close()
