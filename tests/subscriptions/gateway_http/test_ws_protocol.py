"""The WebSocket protocol layer of ``gateway serve`` (gateway/http/ws_protocol.py, ws_frames.py) against a real
server: RFC 6455 framing the edge relies on (fragments, pings, the closing handshake, protocol errors), a
path that is not ``/graphql`` handed to uvicorn's own protocol; and the ASGI path (any other server) serving
the same graphql-transport-ws connection (gateway/http/ws.py ``GraphQLWebSocket.handle``)."""

from __future__ import annotations

import contextlib
import json
import struct
from collections.abc import Iterator

import pytest
import websockets
from websockets.sync.client import connect

from tests.gateway_http.harness import wait_until
from tests.support.oidc_issuer import OidcIssuer

from .clients import closed_with, init, recv, send, subscribe, ws_connect
from .ticker import Edge, running_edge

TICKS = 'subscription { ticks(topic: "%s") { n topic } }'


def test_a_fragmented_message_and_pings_between_its_fragments(edge: Edge) -> None:
    with ws_connect(edge.ws_url) as ws:
        ws.send(iter(['{"type":"ping",', '"payload":', '{"n":1}}']))  # three frames, one message
        assert recv(ws) == {"type": "pong", "payload": {"n": 1}}
        assert ws.ping(b"abc").wait(5)  # a control frame is answered with its payload
        init(ws)


def test_the_client_closes_and_the_server_echoes(edge: Edge) -> None:
    ws = ws_connect(edge.ws_url)
    init(ws)
    ws.close(1000, "bye")
    assert ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1000


def _raw_frame(first: int, payload: bytes, masked: bool = True) -> bytes:
    mask = b"\x01\x02\x03\x04"
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if masked else payload
    return bytes((first, (0x80 if masked else 0) | len(payload))) + (mask if masked else b"") + body


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (_raw_frame(0x81, b'{"type":"ping"}', masked=False), 1002),  # client frames must be masked
        (_raw_frame(0xC1, b'{"type":"ping"}'), 1002),  # a reserved bit (no extension was negotiated)
        (_raw_frame(0x80, b"{}"), 1002),  # a continuation without a message
        (_raw_frame(0x83, b"{}"), 1002),  # an unknown opcode
        (_raw_frame(0x81, b"\xff\xfe"), 1007),  # a text message that is not UTF-8
    ],
    ids=["unmasked", "rsv-bit", "stray-continuation", "unknown-opcode", "bad-utf8"],
)
def test_protocol_errors_close_with_their_code(edge: Edge, frame: bytes, code: int) -> None:
    with ws_connect(edge.ws_url) as ws:
        init(ws)
        ws.socket.sendall(frame)
        assert closed_with(ws)[0] == code


def test_a_large_message_in_fragments_is_refused_at_the_limit(edge: Edge) -> None:
    with ws_connect(edge.ws_url) as ws:
        init(ws)
        with contextlib.suppress(websockets.ConnectionClosed):  # the server closes while fragments go out
            ws.send(iter(['{"type":"ping","payload":"', "x" * 3000, "y" * 3000, '"}']))
            closed_with(ws)
        closed = ws.protocol.close_rcvd
        assert closed is not None and closed.code == 1009 and "4096" in closed.reason


def test_a_close_frame_from_the_server_carries_a_long_reason_cut_to_123_bytes(edge: Edge) -> None:
    with ws_connect(edge.ws_url) as ws:
        init(ws)
        send(ws, {"type": "é" * 100})
        code, reason = closed_with(ws)
        assert code == 4400 and len(reason.encode("utf-8")) <= 123


def test_another_path_goes_to_uvicorns_protocol(edge: Edge) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        connect(edge.ws_url.replace("/graphql", "/nothing-here"), open_timeout=5)
    assert refused.value.response.status_code == 403


def test_a_binary_message_is_read_as_text(edge: Edge) -> None:
    with ws_connect(edge.ws_url) as ws:
        ws.send(json.dumps({"type": "ping", "payload": {"b": 1}}).encode())
        assert recv(ws) == {"type": "pong", "payload": {"b": 1}}
        ws.socket.sendall(_raw_frame(0x82, b"\xff"))
        assert closed_with(ws)[0] == 4400


def test_close_codes_outside_the_rfc_are_a_protocol_error(edge: Edge) -> None:
    with ws_connect(edge.ws_url) as ws:
        ws.socket.sendall(_raw_frame(0x88, struct.pack("!H", 1005)))
        assert closed_with(ws)[0] == 1002


@pytest.fixture(scope="module")
def asgi_edge(edge_issuer: OidcIssuer) -> Iterator[Edge]:
    """The same edge served through ASGI by uvicorn's default WebSocket protocol."""
    with running_edge(edge_issuer, asgi=True) as running:
        yield running


def test_the_asgi_path_serves_the_same_connection(asgi_edge: Edge) -> None:
    with ws_connect(asgi_edge.ws_url) as ws:
        send(ws, {"type": "ping"})
        assert recv(ws) == {"type": "pong"}
        init(ws, asgi_edge.token())
        subscribe(ws, "1", TICKS % "asgi")
        wait_until(lambda: asgi_edge.ticker.subscribers("asgi") == 1, what="subscribed")
        for n in (1, 2):
            asgi_edge.ticker.publish("asgi", n)
            assert recv(ws) == {
                "id": "1",
                "type": "next",
                "payload": {"data": {"ticks": {"n": n, "topic": "asgi", "pad": None}}},
            }
        subscribe(ws, "q", '{ hello(name: "asgi") }')
        assert recv(ws) == {"id": "q", "type": "next", "payload": {"data": {"hello": "hello asgi"}}}
        assert recv(ws) == {"id": "q", "type": "complete"}
        send(ws, {"id": "1", "type": "complete"})
        wait_until(lambda: asgi_edge.ticker.subscribers("asgi") == 0, what="completed")
        send(ws, {"type": "shout"})
        assert closed_with(ws) == (4400, "Invalid message received: unknown type 'shout'")
    with ws_connect(asgi_edge.ws_url, ("graphql-ws",)) as ws:
        code, reason = closed_with(ws)
        assert code == 4406 and "graphql-transport-ws" in reason
    with ws_connect(asgi_edge.ws_url) as ws:
        assert closed_with(ws) == (4408, "Connection initialisation timeout")
