"""The served gateway's WebSocket options (gateway.serve.websocket_options), through a real uvicorn server."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import websockets

from tests.gateway_http.harness import running_gateway


async def test_permessage_deflate_is_not_negotiated(tmp_path: Path) -> None:
    # websockets clients (and browsers) offer permessage-deflate; its zlib state cost ~40 KB per idle subscriber
    with running_gateway(tmp_path) as gateway:
        url = gateway.url.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            assert ws.response is not None
            assert ws.response.headers.get("Sec-WebSocket-Extensions") is None
            await ws.send(orjson.dumps({"type": "connection_init"}).decode())
            assert orjson.loads(await ws.recv())["type"] == "connection_ack"


async def test_a_frame_above_the_limit_is_refused_by_the_protocol_layer(tmp_path: Path) -> None:
    with running_gateway(tmp_path, subscriptions_max_frame_bytes=4096) as gateway:
        url = gateway.url.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(orjson.dumps({"type": "connection_init"}).decode())
            assert orjson.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(orjson.dumps({"type": "ping", "payload": {"pad": "x" * 10_000}}).decode())
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


async def test_the_gateway_protocol_keeps_no_task_or_handshake_per_socket_and_keeps_working(tmp_path: Path) -> None:
    # gateway/http/ws_protocol.py: an idle subscriber's socket is the protocol object, the request head as
    # one bytes object and the edge's connection: no task, no queue, no kept websockets Request/Response
    import asyncio
    import gc

    from gateway.http.ws_protocol import GatewayWebSocketProtocol

    with running_gateway(tmp_path) as gateway:
        url = gateway.url.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(orjson.dumps({"type": "connection_init"}).decode())
            assert orjson.loads(await ws.recv())["type"] == "connection_ack"
            for n in range(3):  # messages after the handshake reach the edge
                await ws.send(orjson.dumps({"type": "ping", "payload": {"n": n}}).decode())
                assert orjson.loads(await ws.recv()) == {"type": "pong", "payload": {"n": n}}
            open_ones = [
                o for o in gc.get_objects() if type(o) is GatewayWebSocketProtocol and not o.transport.is_closing()
            ]
            assert len(open_ones) == 1
            assert not hasattr(open_ones[0], "__dict__")  # __slots__ only
            assert isinstance(open_ones[0]._head, bytes) and b"sec-websocket-key" in open_ones[0]._head
            assert any(name == b"sec-websocket-key" for name, _ in open_ones[0].scope()["headers"])
            tasks = [o for o in gc.get_objects() if type(o) is asyncio.Task and not o.done()]
            names = [t.get_coro().__qualname__ for t in tasks]  # type: ignore[union-attr]
            assert not [n for n in names if "WebSocket" in n or "_Connection" in n or "Socket" in n], names


async def test_process_level_deadlines_fire_once_in_order_and_forget_discarded_members() -> None:
    import asyncio

    from gateway.http.ws_send import Deadlines

    fired: list[str] = []
    deadlines = Deadlines(fired.append)
    deadlines.add("late", 0.06)
    deadlines.add("early", 0.02)
    deadlines.add("gone", 0.01)
    deadlines.discard("gone")
    deadlines.add("moved", 0.01)
    deadlines.add("moved", 0.04)  # a new deadline replaces the first
    await asyncio.sleep(0.15)
    assert fired == ["early", "moved", "late"]
    for n in range(200):  # discarded members do not pile up in the heap
        deadlines.add(n, 60)
        deadlines.discard(n)
    assert len(deadlines._heap) <= 2 * len(deadlines._live) + 64 + 1
