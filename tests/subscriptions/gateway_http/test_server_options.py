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


async def test_the_lean_protocol_forgets_the_handshake_and_keeps_working(tmp_path: Path) -> None:
    # gateway/http/ws_protocol.py: ~8 KB less per idle subscriber (handshake headers, asyncio.Queue and Event)
    import gc

    from gateway.http.ws_protocol import LeanWebSocketProtocol

    with running_gateway(tmp_path) as gateway:
        url = gateway.url.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(orjson.dumps({"type": "connection_init"}).decode())
            assert orjson.loads(await ws.recv())["type"] == "connection_ack"
            for n in range(3):  # the receive path (the inbox) after the handshake was dropped
                await ws.send(orjson.dumps({"type": "ping", "payload": {"n": n}}).decode())
                assert orjson.loads(await ws.recv()) == {"type": "pong", "payload": {"n": n}}
            open_ones = [
                o for o in gc.get_objects() if type(o) is LeanWebSocketProtocol and not o.transport.is_closing()
            ]
            assert len(open_ones) == 1
            assert open_ones[0].request is None and open_ones[0].response is None
            assert any(name == b"sec-websocket-key" for name, _ in open_ones[0].scope["headers"])


async def test_the_lean_writable_flag_holds_writers_until_set() -> None:
    import asyncio

    from gateway.http.ws_protocol import _Writable

    flag = _Writable()
    assert await flag.wait() is True  # set: no wait
    flag.clear()
    waiters = [asyncio.ensure_future(flag.wait()) for _ in range(2)]
    cancelled = asyncio.ensure_future(flag.wait())
    await asyncio.sleep(0.01)
    assert not any(w.done() for w in waiters)
    cancelled.cancel()
    flag.set()
    assert await asyncio.gather(*waiters) == [True, True]
    assert flag.is_set()
