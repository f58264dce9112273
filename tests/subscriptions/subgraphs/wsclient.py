"""A small graphql-transport-ws client for tests (the ``websockets`` library's synchronous client)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

PROTOCOL = "graphql-transport-ws"


class Closed(Exception):
    """The server closed the connection: ``code`` and ``reason``."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed {code}: {reason}")
        self.code = code
        self.reason = reason


class Subscriber:
    """One graphql-transport-ws connection to a subgraph's ``/graphql``."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self._ids = itertools.count(1)

    def send(self, message: dict[str, Any]) -> None:
        self.connection.send(orjson.dumps(message).decode())

    def receive(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next message other than ping/pong; raises :class:`Closed` when the server closes, TimeoutError."""
        while True:
            try:
                raw = self.connection.recv(timeout=timeout)
            except ConnectionClosed as exc:
                rcvd = exc.rcvd
                raise Closed(rcvd.code if rcvd else None, rcvd.reason if rcvd else "") from None
            message = orjson.loads(raw)
            if message.get("type") == "ping":
                self.send({"type": "pong"})
                continue
            if message.get("type") != "pong":
                return message

    def nothing_for(self, seconds: float) -> bool:
        """True when no message arrives within ``seconds``."""
        try:
            message = self.receive(timeout=seconds)
        except TimeoutError:
            return True
        raise AssertionError(f"expected nothing, got {message}")

    def init(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        self.send({"type": "connection_init", "payload": payload or {}})
        return self.receive()

    def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        op_id = str(next(self._ids))
        self.send({"id": op_id, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}})
        return op_id

    def complete(self, op_id: str) -> None:
        self.send({"id": op_id, "type": "complete"})


def ws_url(base: str) -> str:
    """``ws://host:port/graphql`` of an ``http://host:port`` base URL."""
    return base.replace("http://", "ws://", 1) + "/graphql"


@contextmanager
def connected(
    base: str,
    *,
    token: str | None = None,
    tenant: str | None = None,
    headers: dict[str, str] | None = None,
    subprotocols: tuple[str, ...] = (PROTOCOL,),
    init: bool = True,
) -> Iterator[Subscriber]:
    """A connection to ``base``'s subgraph; ``init``: send connection_init (token in the payload) and expect ack."""
    with connect(
        ws_url(base),
        subprotocols=list(subprotocols) or None,
        additional_headers=headers,
        open_timeout=10,  # type: ignore[arg-type]
    ) as connection:
        client = Subscriber(connection)
        if init:
            payload: dict[str, Any] = {}
            if token:
                payload["authorization"] = f"Bearer {token}"
            if tenant:
                payload["x-tenant-id"] = tenant
            ack = client.init(payload)
            assert ack["type"] == "connection_ack", ack
        yield client
