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
