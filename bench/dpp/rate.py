"""Latency at a fixed request rate (open loop): ``make bench-dpp``'s "at 80% of peak" rows.

wrk sends the next request on a connection as soon as the previous answer arrives (closed loop),
so it measures peak throughput and the latency at saturation. The issue's latency target is at a
given share of the peak; this client sends requests on a fixed schedule (``--rate`` per second)
whatever the answers do, over as many keep-alive connections as it needs (up to
``--max-connections``), and measures each request's latency from the instant it was *scheduled*,
so a stall counts for every request it delays (no coordinated omission). Raw asyncio streams, one
prepared HTTP/1.1 request per body: a few tens of microseconds of CPU per request.

Bodies come from a file (one JSON body a line), picked by the same Zipf law as ``workload.lua``.
Prints one JSON line: requests, errors, achieved rate, p50/p99/max latency.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from uvicorn.loops.auto import auto_loop_factory


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # from the scheduled instant: what a user waits
    send_lags: list[float] = field(default_factory=list)  # scheduled -> written: this client's own delay
    by_second: dict[int, list[float]] = field(default_factory=dict)  # second of the schedule -> latencies
    errors: int = 0
    first_error: str | None = None


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
# Idle connections older than this are closed, not reused: uvicorn closes a keep-alive connection
# after 5 s (timeout_keep_alive), and a request written as it does so gets no answer.
IDLE_SECONDS = 3.0


class Pool:
    """Keep-alive connections to one host; opens more when all are busy, up to ``limit``."""

    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port, self.limit = host, port, limit
        self.idle: list[tuple[Connection, float]] = []
        self.opened = 0
        self.freed = asyncio.Condition()

    async def take(self) -> tuple[Connection, bool]:
        """A connection, and whether it was used before."""
        async with self.freed:
            while True:
                while self.idle and time.monotonic() - self.idle[-1][1] > IDLE_SECONDS:
                    stale, _ = self.idle.pop()
                    stale[1].close()
                    self.opened -= 1
                if self.idle or self.opened < self.limit:
                    break
                await self.freed.wait()
            if self.idle:
                return self.idle.pop()[0], True
            self.opened += 1
        return await asyncio.open_connection(self.host, self.port), False  # failing: the caller gives None back

    async def give(self, connection: Connection | None) -> None:
        async with self.freed:
            if connection is None:
                self.opened -= 1
            else:
                self.idle.append((connection, time.monotonic()))
            self.freed.notify()


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"]))
    body = b""
    while True:  # chunked
        size = int((await reader.readline()).strip(), 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return status, body
        body += chunk[:-2]


async def _one(pool: Pool, request: bytes, scheduled: float, second: int, tally: Tally) -> None:
    connection = None
    try:
        connection, reused = await pool.take()
        tally.send_lags.append(time.perf_counter() - scheduled)
        try:
            status, body = await _exchange(*connection, request)
        except (ConnectionResetError, asyncio.IncompleteReadError) as error:
            if not reused or (isinstance(error, asyncio.IncompleteReadError) and error.partial):
                raise
            # The server closed this idle keep-alive connection as the request went out: a new one, once.
            connection[1].close()
            await pool.give(None)
            connection = None
            connection, _ = await pool.take()
            status, body = await _exchange(*connection, request)
        latency = time.perf_counter() - scheduled
        tally.latencies.append(latency)
        tally.by_second.setdefault(second, []).append(latency)
        if status != 200 or b'"errors"' in body:
            tally.errors += 1
            tally.first_error = tally.first_error or f"HTTP {status}: {body[:300]!r}"
    except (OSError, asyncio.IncompleteReadError, ValueError) as error:
        tally.errors += 1
        tally.first_error = tally.first_error or repr(error)
        if connection is not None:
            connection[1].close()
        connection = None
    finally:
        await pool.give(connection)


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
    pool = Pool(parts.hostname or "127.0.0.1", parts.port or 80, args.max_connections)
    tally = Tally()
    count = int(args.rate * args.duration)
    cpu_started, wait_started = time.process_time(), _own_wait()
    started = time.perf_counter()
    tasks = []
    for i in range(count):
        scheduled = started + i / args.rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        index = min(len(requests) - 1, bisect.bisect_left(cdf, chooser.random() * total))
        tasks.append(asyncio.create_task(_one(pool, requests[index], scheduled, int(i / args.rate), tally)))
    await asyncio.gather(*tasks)
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
        "connections": pool.opened,
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
