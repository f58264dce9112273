"""Slow and stalled clients against a real ``gateway serve`` server (uvicorn, guarded protocol) on loopback.

Raw sockets play the attacker: half a request line or header block, a declared body that
never comes, oversized headers, more connections than the cap. Figures (connections still
open, worst latency) are printed; run with ``-s`` to see them.
"""

from __future__ import annotations

import selectors
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson
import pytest

from gateway.serve import connection_guards
from gateway.settings import Settings, SettingsError

from .harness import RunningGateway, running_gateway, wait_until

HALF_HEADERS = b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: applic"


def _address(gw: RunningGateway) -> tuple[str, int]:
    host, port = gw.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


@contextmanager
def raw_sockets(gw: RunningGateway, count: int, first_bytes: bytes) -> Iterator[list[socket.socket]]:
    """``count`` connections to the gateway, each having sent ``first_bytes`` (maybe nothing), then silent."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection(_address(gw), timeout=10)
            if first_bytes:
                sock.sendall(first_bytes)
            socks.append(sock)
        yield socks
    finally:
        for sock in socks:
            sock.close()


Closes = tuple[dict[socket.socket, float], dict[socket.socket, bytes]]


def wait_for_closes(socks: list[socket.socket], limit: float) -> Closes:
    """Read every socket until the server closes it or ``limit`` seconds pass: close times and bytes received."""
    started = time.monotonic()
    received: dict[socket.socket, bytes] = {s: b"" for s in socks}
    closed: dict[socket.socket, float] = {}
    with selectors.DefaultSelector() as selector:
        for sock in socks:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, sock)
        while len(closed) < len(socks):
            remaining = started + limit - time.monotonic()
            if remaining <= 0:
                break
            for key, _ in selector.select(timeout=min(remaining, 0.5)):
                sock = key.data
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    data = b""
                if data:
                    received[sock] += data
                else:
                    closed[sock] = time.monotonic() - started
                    selector.unregister(sock)
    return closed, received


def status_and_body(raw: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), orjson.loads(body)


def refusals(gw: RunningGateway, code: str) -> float:
    """``gateway_errors_total`` of ``code`` in the gateway's /metrics."""
    for line in httpx.get(f"{gw.url}/metrics").text.splitlines():
        if line.startswith(f'gateway_errors_total{{code="{code}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def small_query(url: str, timeout: float = 10.0, request_id: str | None = None) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if request_id is not None:
        headers["x-request-id"] = request_id
    return httpx.post(f"{url}/graphql", content=b'{"query":"{ hello }"}', headers=headers, timeout=timeout)


def test_stalled_headers_are_closed_after_the_header_timeout(tmp_path: Path) -> None:
    # The attack: 2,000 connections that never finish their headers.
    with running_gateway(tmp_path, header_timeout=1.0) as gw:
        with raw_sockets(gw, 1900, HALF_HEADERS) as half, raw_sockets(gw, 100, b"") as silent:
            sent_at = time.monotonic()
            closed, received = wait_for_closes(half + silent, limit=8.0)
            still_open = len(half) + len(silent) - len(closed)
            print(
                f"\nheader timeout 1 s: {len(closed)} of {len(half) + len(silent)} stalled connections closed, "
                f"{still_open} still open {time.monotonic() - sent_at:.1f} s after the last was opened; "
                f"first close after {min(closed.values()):.2f} s, last after {max(closed.values()):.2f} s"
            )
            assert still_open == 0
            # Opening 2,000 connections took a while: the first ones may close at once, none before its deadline
            # is checked here; the connections opened last were not closed early.
            assert closed[half[-1]] > 0.5
            for sock in half[:50]:
                status, body = status_and_body(received[sock])
                assert status == 408
                assert body["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT"  # type: ignore[index]
            assert all(received[sock] == b"" for sock in silent)  # nothing sent, nothing answered
        assert refusals(gw, "REQUEST_TIMEOUT") == 2000
        assert small_query(gw.url).json() == {"data": {"hello": "hello world"}}


def test_a_keep_alive_connection_stalling_in_its_next_request_is_closed(tmp_path: Path) -> None:
    body = b'{"query":"{ hello }"}'
    first = (
        b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body
    )
    with running_gateway(tmp_path, header_timeout=1.0) as gw:
        with raw_sockets(gw, 1, first) as (sock,):
            sock.settimeout(5)
            answer = sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200")
            time.sleep(1.2)  # idle beyond the header timeout: only the keep-alive timeout (5 s) applies here
            sock.sendall(HALF_HEADERS)  # the next request starts and stalls: its own header deadline
            closed, received = wait_for_closes([sock], limit=5.0)
            assert sock in closed and 0.7 < closed[sock] < 3.0, closed
            assert status_and_body(received[sock])[0] == 408


def test_a_declared_body_that_never_arrives_is_closed_after_the_body_timeout(tmp_path: Path) -> None:
    request = (
        b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"query":'
    )
    with running_gateway(tmp_path, header_timeout=30.0, body_timeout=1.0) as gw:
        with raw_sockets(gw, 200, request) as socks:
            closed, received = wait_for_closes(socks, limit=10.0)
            print(
                f"\nbody timeout 1 s: {len(closed)} of {len(socks)} stalled bodies closed, "
                f"{len(socks) - len(closed)} still open; last after {max(closed.values()):.2f} s"
            )
            assert len(closed) == len(socks)
            assert min(closed.values()) > 0.5 or closed[socks[-1]] > 0.5
            status, body = status_and_body(received[socks[0]])
            assert status == 408
            assert body["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT"  # type: ignore[index]
        assert refusals(gw, "REQUEST_TIMEOUT") == 200
        # A slow but steady body within the timeout is fine.
        with raw_sockets(gw, 1, request) as (sock,):
            time.sleep(0.3)
            sock.sendall(b'"{ hello }"}' + b" " * (100 - 9 - 12))
            sock.shutdown(socket.SHUT_WR)
            closed, received = wait_for_closes([sock], limit=5.0)
            status, body = status_and_body(received[sock])
            assert status == 200, received[sock]
            assert body == {"data": {"hello": "hello world"}}


def test_oversized_headers_get_431_with_a_graphql_error(tmp_path: Path) -> None:
    with running_gateway(tmp_path, max_header_bytes=8192, header_timeout=30.0) as gw:
        # A complete header block over the limit, in one write: answered 431 by the guard, then closed.
        big = small_query_raw(extra=b"x-padding: " + b"a" * 10_000 + b"\r\n")
        with raw_sockets(gw, 1, big) as (sock,):
            closed, received = wait_for_closes([sock], limit=5.0)
            assert sock in closed
            status, body = status_and_body(received[sock])
            assert status == 431
            assert body["errors"][0]["extensions"]["code"] == "REQUEST_HEADER_FIELDS_TOO_LARGE"  # type: ignore[index]
            # the correlation id, generated (the request never got parsed), in the header and the error alike
            head = received[sock].partition(b"\r\n\r\n")[0].decode().lower()
            request_id = body["errors"][0]["extensions"]["requestId"]  # type: ignore[index]
            assert f"x-request-id: {request_id}" in head.splitlines() and len(request_id) == 32
        # A header that never ends: refused once the limit is passed, long before the header timeout.
        with raw_sockets(gw, 1, b"GET /graphql HTTP/1.1\r\nx-endless: " + b"a" * 9_000) as (sock,):
            closed, received = wait_for_closes([sock], limit=5.0)
            assert sock in closed and closed[sock] < 2.0
            assert status_and_body(received[sock])[0] == 431
        assert refusals(gw, "REQUEST_HEADER_FIELDS_TOO_LARGE") == 2
        # Headers under the limit pass.
        with raw_sockets(gw, 1, small_query_raw(extra=b"x-padding: " + b"a" * 4_000 + b"\r\n")) as (sock,):
            closed, received = wait_for_closes([sock], limit=5.0)
            assert status_and_body(received[sock]) == (200, {"data": {"hello": "hello world"}})


def small_query_raw(extra: bytes = b"") -> bytes:
    body = b'{"query":"{ hello }"}'
    return (
        b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nConnection: close\r\n"
        + extra
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )


def test_the_connection_cap_refuses_with_503_and_serves_again_once_slots_free(tmp_path: Path) -> None:
    with running_gateway(tmp_path, max_client_connections=20, header_timeout=1.5) as gw:
        with raw_sockets(gw, 30, HALF_HEADERS) as stalled:
            refused = small_query(gw.url, request_id="client-id-1")
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "1"
            assert refused.json()["errors"][0]["extensions"] == {"code": "SERVICE_UNAVAILABLE",
                                                                 "requestId": "client-id-1"}
            assert refused.headers["x-request-id"] == "client-id-1"
            # The header timeout frees the stalled slots; the same client is served afterwards.
            served = wait_until(lambda: small_query(gw.url).status_code == 200, what="a free slot", limit=10)
            assert served
            closed, _ = wait_for_closes(stalled, limit=1.0)
            assert len(closed) == len(stalled)
            assert refusals(gw, "SERVICE_UNAVAILABLE") >= 1  # /metrics itself was refused while the cap was hit
        # Idle connections count too, and closing them frees their slots at once.
        with raw_sockets(gw, 25, b""):
            assert small_query(gw.url).status_code == 503
        wait_until(lambda: small_query(gw.url).status_code == 200, what="slots freed by closing", limit=5)


def test_a_normal_request_answers_while_500_stalled_connections_are_open(tmp_path: Path) -> None:
    body_stall = (
        b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    )
    with running_gateway(tmp_path) as gw:  # default guards: header 10 s, body 30 s
        with raw_sockets(gw, 250, HALF_HEADERS), raw_sockets(gw, 250, body_stall):
            latencies = []
            with httpx.Client(timeout=10) as client:
                for _ in range(30):
                    started = time.monotonic()
                    response = client.post(
                        f"{gw.url}/graphql",
                        content=b'{"query":"{ hello }"}',
                        headers={"content-type": "application/json"},
                    )
                    latencies.append(time.monotonic() - started)
                    assert response.json() == {"data": {"hello": "hello world"}}
            print(
                f"\n500 stalled connections open: worst latency of 30 small queries {max(latencies) * 1000:.1f} ms, "
                f"median {sorted(latencies)[15] * 1000:.1f} ms"
            )
            assert max(latencies) < 2.0


def test_guard_settings_from_the_environment_and_their_checks() -> None:
    settings = Settings.load(
        environ={
            "GATEWAY_HEADER_TIMEOUT": "5",
            "GATEWAY_BODY_TIMEOUT": "12.5",
            "GATEWAY_MAX_HEADER_BYTES": "16384",
            "GATEWAY_MAX_CLIENT_CONNECTIONS": "300",
            "GATEWAY_ROUTER_TIMEOUT": "20",
        }
    )
    guards = connection_guards(settings)
    assert (guards.header_timeout, guards.body_timeout, guards.max_header_bytes, guards.max_connections) == (
        5.0,
        12.5,
        16384,
        300,
    )
    assert settings.router_timeout == 20.0
    defaults = Settings()
    assert (defaults.header_timeout, defaults.body_timeout, defaults.router_timeout) == (10.0, 30.0, 60.0)
    assert connection_guards(defaults).max_connections >= 64  # 0: sized from the descriptor limit
    for name in ("header_timeout", "body_timeout", "max_header_bytes", "max_client_connections", "router_timeout"):
        with pytest.raises(SettingsError, match=name):
            Settings.from_mapping({name: -1})


def test_make_run_serves_the_gateway_with_the_guards_on(monkeypatch: pytest.MonkeyPatch) -> None:
    # dpp-stack (make run) builds the gateway's uvicorn config through the AppSpec's config factory.
    from gateway.http.guards import GuardedConfig
    from subgraphs.cli import _gateway_spec

    monkeypatch.setenv("GATEWAY_SUPERGRAPH", str(Path(__file__).parents[2] / "schema" / "supergraph.graphql"))
    spec = _gateway_spec()
    assert spec is not None
    config = spec.config(spec.app, host=spec.host, port=spec.port)
    assert isinstance(config, GuardedConfig)
    assert (config.guards.header_timeout, config.guards.body_timeout, config.guards.max_header_bytes) == (
        10.0,
        30.0,
        32768,
    )
    assert config.guards.max_connections >= 64
