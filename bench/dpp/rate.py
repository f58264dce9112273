"""Latency at a fixed request rate (open loop): ``make bench-dpp``'s "at 80% of peak" rows.

wrk sends the next request on a connection as soon as the previous answer arrives (closed loop),
so it measures peak throughput and the latency at saturation. The issue's latency target is at a
given share of the peak; this client sends requests on a fixed schedule (``--rate`` per second)
whatever the answers do, over as many keep-alive connections as it needs (up to
``--max-connections``), and measures each request's latency from the instant it was *scheduled*,
so a stall counts for every request it delays (no coordinated omission). It shares the CPUs with the
stack it measures, so it is cheap: one prepared HTTP/1.1 request per body, written from an asyncio
protocol on uvloop and its answer parsed in the protocol's callback (no task, stream or lock per
request; the streams-and-tasks version cost 0.20-0.31 ms of CPU per request, about a tenth of the
whole stack's on the QR path). It reports its own share separately: the send lag, from the
scheduled instant to the write (a client starved of CPU sends late, and that delay counts in the
latency too, as it would for a user; the send lag says how much of it was the client's).

Bodies come from a file (one JSON body a line), picked by the same Zipf law as ``workload.lua``.
Prints one JSON line: requests, errors, achieved rate, p50/p90/p99/max latency, the send lag,
p99 per second of the schedule, and this client's CPU and CPU wait per request.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import random
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from uvicorn.loops.auto import auto_loop_factory


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # from the scheduled instant: what a user waits
    send_lags: list[float] = field(default_factory=list)  # scheduled -> written: this client's own delay
    by_second: dict[int, list[float]] = field(default_factory=dict)  # second of the schedule -> latencies
    errors: int = 0
    first_error: str | None = None


# Idle connections older than this are closed, not reused: uvicorn closes a keep-alive connection
# after 5 s (timeout_keep_alive), and a request written as it does so gets no answer.
IDLE_SECONDS = 3.0


@dataclass
class _Request:
    data: bytes
    scheduled: float
    second: int
    sent: float = 0.0
    retried: bool = False


class _Connection(asyncio.Protocol):
    """One keep-alive connection, one request at a time; the answer is parsed as its bytes arrive."""

    def __init__(self, client: _Client) -> None:
        self.client = client
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.current: _Request | None = None
        self.reused = False
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not an asyncio.Transport subclass

    def send(self, request: _Request, *, reused: bool) -> None:
        assert self.transport is not None
        self.current, self.reused = request, reused
        if not request.sent:
            request.sent = time.perf_counter()
        self.transport.write(request.data)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.current is not None:
            answer = _answer(self.buffer)
            if answer is None:
                return
            status, body, used = answer
            del self.buffer[:used]
            request, self.current = self.current, None
            self.client.done(self, request, status, body)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.client.lost(self, exc)


def _answer(buffer: bytearray) -> tuple[int, bytes, int] | None:
    """(status, body, bytes used) of the HTTP/1.1 answer at the start of ``buffer``; None until complete."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    at = end + 4
    if "content-length" in headers:
        size = int(headers["content-length"])
        return (status, bytes(buffer[at : at + size]), at + size) if len(buffer) >= at + size else None
    body = b""
    while True:  # chunked
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = int(buffer[at:line_end], 16)
        if len(buffer) < line_end + 2 + size + 2:
            return None
        body += bytes(buffer[line_end + 2 : line_end + 2 + size])
        at = line_end + 2 + size + 2
        if size == 0:
            return status, body, at


class _Client:
    """Keep-alive connections to one host, opened as needed up to ``limit``; requests wait for one beyond."""

    def __init__(self, host: str, port: int, limit: int, tally: Tally, expected: int) -> None:
        self.host, self.port, self.limit = host, port, limit
        self.tally = tally
        self.idle: list[_Connection] = []
        self.waiting: deque[_Request] = deque()
        self.opened = 0
        self.expected = expected
        self.finished = 0
        self.all_done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def submit(self, request: _Request) -> None:
        now = time.perf_counter()
        while self.idle and now - self.idle[-1].idle_since > IDLE_SECONDS:
            stale = self.idle.pop()
            if stale.transport is not None:
                stale.transport.close()  # connection_lost gives its slot back
        if self.idle:
            self.idle.pop().send(request, reused=True)
        elif self.opened < self.limit:
            self.opened += 1
            asyncio.get_running_loop().create_task(self._open(request))
        else:
            self.waiting.append(request)

    async def _open(self, request: _Request) -> None:
        try:
            _, connection = await asyncio.get_running_loop().create_connection(
                lambda: _Connection(self), self.host, self.port
            )
        except OSError as error:
            self.opened -= 1
            self._finish(request, error=repr(error))
            return
        connection.send(request, reused=False)

    def done(self, connection: _Connection, request: _Request, status: int, body: bytes) -> None:
        if status != 200 or b'"errors"' in body:
            self._finish(request, error=f"HTTP {status}: {body[:300]!r}", answered=True)
        else:
            self._finish(request)
        if self.waiting:
            connection.send(self.waiting.popleft(), reused=True)
        else:
            connection.idle_since = time.perf_counter()
            self.idle.append(connection)

    def lost(self, connection: _Connection, exc: Exception | None) -> None:
        self.opened -= 1
        if connection in self.idle:
            self.idle.remove(connection)
        request = connection.current
        if request is not None:
            if connection.reused and not connection.buffer and not request.retried:
                # The server closed this idle keep-alive connection as the request went out: once more.
                request.retried = True
                self.submit(request)
            else:
                self._finish(request, error=repr(exc) if exc else "connection closed before the answer")
        if self.waiting and self.opened < self.limit:
            self.submit(self.waiting.popleft())

    def _finish(self, request: _Request, *, error: str | None = None, answered: bool = False) -> None:
        tally = self.tally
        if error is None or answered:
            latency = time.perf_counter() - request.scheduled
            tally.latencies.append(latency)
            tally.by_second.setdefault(request.second, []).append(latency)
        if request.sent:
            tally.send_lags.append(request.sent - request.scheduled)
        if error is not None:
            tally.errors += 1
            tally.first_error = tally.first_error or error
        self.finished += 1
        if self.finished == self.expected and not self.all_done.done():
            self.all_done.set_result(None)


def _requests(url: str, bodies: list[str], token: str) -> list[bytes]:
    parts = urlsplit(url)
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    prepared = []
    for body in bodies:
        data = body.encode()
        head = (
            f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json\r\n{auth}Content-Length: {len(data)}\r\n\r\n"
        )
        prepared.append(head.encode() + data)
    return prepared


async def run(args: argparse.Namespace, bodies: list[str]) -> dict[str, object]:
    parts = urlsplit(args.url)
    requests = _requests(args.url, bodies, args.token)
    weights = [1 / (k**args.zipf) for k in range(1, len(requests) + 1)] if args.zipf > 0 else [1.0] * len(requests)
    cdf, total = [], 0.0
    for w in weights:
        total += w
        cdf.append(total)
    chooser = random.Random(12345)
    tally = Tally()
    count = int(args.rate * args.duration)
    client = _Client(parts.hostname or "127.0.0.1", parts.port or 80, args.max_connections, tally, count)
    cpu_started, wait_started = time.process_time(), _own_wait()
    started = time.perf_counter()
    i = 0
    while i < count:
        now = time.perf_counter()
        while i < count and started + i / args.rate <= now:  # every request due by now, late ones included
            index = min(len(requests) - 1, bisect.bisect_left(cdf, chooser.random() * total))
            client.submit(_Request(requests[index], started + i / args.rate, int(i / args.rate)))
            i += 1
        if i < count:
            await asyncio.sleep(max(0.0, started + i / args.rate - time.perf_counter()))
    if count:
        await client.all_done
    elapsed = time.perf_counter() - started
    latencies = sorted(tally.latencies)
    lags = sorted(tally.send_lags)

    def pct(values: list[float], share: float) -> float:
        return values[min(len(values) - 1, max(0, round(share * len(values)) - 1))] * 1000 if values else 0

    return {
        "requests": len(latencies),
        "errors": tally.errors,
        "first_error": tally.first_error,
        "requests_per_second": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": pct(latencies, 0.50),
        "p90_ms": pct(latencies, 0.90),
        "p99_ms": pct(latencies, 0.99),
        "max_ms": latencies[-1] * 1000 if latencies else 0.0,
        # This client's own share: from the scheduled instant to the request's first byte written.
        "send_lag_p50_ms": pct(lags, 0.50),
        "send_lag_p99_ms": pct(lags, 0.99),
        "send_lag_max_ms": lags[-1] * 1000 if lags else 0.0,
        # p99 of each second of the schedule: a tail spread evenly, or a few bad seconds?
        "p99_by_second_ms": [round(pct(sorted(v), 0.99), 1) for _, v in sorted(tally.by_second.items())],
        "client_cpu_ms_per_request": (time.process_time() - cpu_started) * 1000 / max(1, len(latencies)),
        "client_wait_ms_per_request": (_own_wait() - wait_started) * 1000 / max(1, len(latencies)),
        "connections": client.opened,
    }


def _own_wait() -> float:
    """Seconds this process has been runnable but waiting for a CPU (``/proc/self/schedstat``)."""
    try:
        return int(Path("/proc/self/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/dpp/rate.py")
    parser.add_argument("--url", required=True)
    parser.add_argument("--bodies", required=True, help="file with one JSON body a line")
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--zipf", type=float, default=0.0)
    parser.add_argument("--token", default="")
    parser.add_argument("--max-connections", type=int, default=64)
    args = parser.parse_args(argv)
    bodies = [line for line in Path(args.bodies).read_text().splitlines() if line]
    # uvloop (uvicorn[standard] installs it): a cheaper client leaves more of the shared CPUs to the stack.
    with asyncio.Runner(loop_factory=auto_loop_factory()) as runner:
        print(json.dumps(runner.run(run(args, bodies))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
