"""Small clients of the three subscription protocols, for tests (websockets' sync client and httpx)."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.uri import parse_uri

WS_PROTOCOL = "graphql-transport-ws"
MULTIPART_ACCEPT = 'multipart/mixed;subscriptionSpec="1.0", application/json'


def ws_connect(
    url: str, subprotocols: tuple[str, ...] = (WS_PROTOCOL,), headers: dict[str, str] | None = None
) -> ClientConnection:
    """A client socket (``headers``: extra headers of the upgrade request)."""
    return connect(
        url,
        subprotocols=list(subprotocols) or None,  # type: ignore[arg-type]
        open_timeout=10,
        max_size=None,
        additional_headers=headers,
    )


def send(ws: ClientConnection, message: dict[str, Any] | str) -> None:
    ws.send(message if isinstance(message, str) else json.dumps(message))


def recv(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    """The next message that is not a server ``ping`` (answered with ``pong``)."""
    while True:
        message: dict[str, Any] = json.loads(ws.recv(timeout=timeout))
        if message.get("type") != "ping":
            return message
        send(ws, {"type": "pong"})


def init(ws: ClientConnection, token: str | None = None, **payload: Any) -> None:
    """connection_init (with ``authorization: Bearer <token>``), then expect connection_ack."""
    if token is not None:
        payload.setdefault("authorization", f"Bearer {token}")
    send(ws, {"type": "connection_init", "payload": payload})
    assert recv(ws) == {"type": "connection_ack"}


def subscribe(ws: ClientConnection, op_id: str, query: str, **payload: Any) -> None:
    send(ws, {"id": op_id, "type": "subscribe", "payload": {"query": query, **payload}})


def closed_with(ws: ClientConnection, timeout: float = 5.0) -> tuple[int, str]:
    """Read until the server closes the socket: its close code and reason."""
    try:
        while True:
            ws.recv(timeout=timeout)
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "the socket ended without a close frame"
        return closed.rcvd.code, closed.rcvd.reason
    except TimeoutError:
        raise AssertionError("the server did not close the socket") from None


@dataclass
class SseEvent:
    event: str
    data: Any
    id: str | None


def sse_events(response: httpx.Response) -> Iterator[SseEvent | None]:
    """Events of a text/event-stream response; None for each comment (heartbeat)."""
    event, data, event_id = "message", "", None
    for line in response.iter_lines():
        if line == "":
            if data or event != "message":
                yield SseEvent(event, json.loads(data) if data else None, event_id)
            event, data, event_id = "message", "", None
        elif line.startswith(":"):
            yield None
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                event = value
            elif name == "data":
                data += value
            elif name == "id":
                event_id = value


def multipart_parts(response: httpx.Response) -> Iterator[Any]:
    """The JSON bodies of a multipart/mixed;boundary="graphql" response, then ``"END"`` at the closing delimiter."""
    buffer = b""
    part = re.compile(rb"\r\n--graphql\r\ncontent-type: application/json\r\n\r\n")
    for chunk in response.iter_bytes():
        buffer += chunk
        while True:
            first = part.search(buffer)
            if first is None:
                break
            following = part.search(buffer, first.end())
            end = buffer.find(b"\r\n--graphql--\r\n", first.end())
            if following is not None:
                yield json.loads(buffer[first.end() : following.start()])
                buffer = buffer[following.start() :]
            elif end >= 0:
                yield json.loads(buffer[first.end() : end])
                buffer = buffer[end:]
            else:
                break
        if buffer.startswith(b"\r\n--graphql--\r\n"):
            yield "END"
            return


class StalledWebSocket:
    """A WebSocket client on a raw socket that sends but never reads (a tiny receive buffer)."""

    def __init__(self, url: str) -> None:
        self.protocol = ClientProtocol(parse_uri(url), subprotocols=[WS_PROTOCOL])  # type: ignore[list-item]
        uri = parse_uri(url)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect((uri.host, uri.port))
        self.protocol.send_request(self.protocol.connect())
        self.sock.sendall(b"".join(self.protocol.data_to_send()))
        deadline = time.monotonic() + 5
        while not self.protocol.handshake_exc and self.protocol.state.name == "CONNECTING":
            assert time.monotonic() < deadline, "no handshake"
            self.protocol.receive_data(self.sock.recv(4096))
        self.protocol.events_received()

    def send(self, message: dict[str, Any]) -> None:
        self.protocol.send_text(json.dumps(message).encode())
        self.sock.sendall(b"".join(self.protocol.data_to_send()))

    def close(self) -> None:
        self.sock.close()
