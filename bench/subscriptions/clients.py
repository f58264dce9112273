"""Many WebSocket subscribers in one process, for ``make bench-subscriptions``.

Opens ``--count`` connections to a gateway's ``/graphql`` with ``graphql-transport-ws``,
subscribes each to ``--query`` and records, for every event received, the delivery latency
(receive time minus the ``emittedAt`` the stand-in subgraph stamped on the event; one
machine, one clock). Driven over stdin/stdout by ``bench/subscriptions/run.py``:

    ready N            (printed once every subscription is acknowledged by the first frame)
    stdin: wait SEQ T  -> prints ``got SEQ COUNT LATENCIES_FILE`` after COUNT subscribers have
                          SEQ (or T seconds passed); the file holds their latencies in seconds
    stdin: quit        -> closes every connection and exits
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import defaultdict

import orjson
import websockets


class Subscribers:
    """The connections of this process and what they received."""

    def __init__(self, url: str, query: str, headers: dict[str, str]) -> None:
        self.url = url
        self.query = query
        self.init_payload = headers
        self.latencies: dict[int, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.connections: list[websockets.ClientConnection] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.arrived = asyncio.Event()

    async def open_one(self) -> None:
        ws = await websockets.connect(self.url, subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                                      max_size=1 << 20, ping_interval=None, open_timeout=60)
        await ws.send(orjson.dumps({"type": "connection_init", "payload": self.init_payload}).decode())
        ack = orjson.loads(await ws.recv())
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"no connection_ack: {ack}")
        await ws.send(orjson.dumps({"id": "1", "type": "subscribe", "payload": {"query": self.query}}).decode())
        self.connections.append(ws)
        self.tasks.append(asyncio.create_task(self._read(ws)))

    async def _read(self, ws: websockets.ClientConnection) -> None:
        try:
            async for raw in ws:
                now = time.time()
                frame = orjson.loads(raw)
                kind = frame.get("type")
                if kind == "ping":
                    await ws.send('{"type":"pong"}')
                    continue
                if kind != "next":
                    if kind in ("error", "complete"):
                        self.errors.append(str(frame)[:300])
                    continue
                payload = frame.get("payload") or {}
                data = (payload.get("data") or {}).get("productChanged")
                if not data:
                    self.errors.append(str(payload)[:300])
                    continue
                self.latencies[int(data["seq"])].append(now - float(data["emittedAt"]))
                self.arrived.set()
        except websockets.ConnectionClosed as exc:
            self.errors.append(f"closed: {exc}")


async def _open_all(subs: Subscribers, count: int, concurrency: int) -> None:
    semaphore = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with semaphore:
            await subs.open_one()

    await asyncio.gather(*(one() for _ in range(count)))


async def _commands(subs: Subscribers) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode().strip()
        if not line or line == "quit":
            return
        parts = line.split()
        if parts[0] == "wait":
            seq, timeout = int(parts[1]), float(parts[2])
            deadline = time.monotonic() + timeout
            while len(subs.latencies.get(seq, ())) < len(subs.connections) and time.monotonic() < deadline:
                subs.arrived.clear()
                try:
                    await asyncio.wait_for(subs.arrived.wait(), max(0.01, deadline - time.monotonic()))
                except TimeoutError:
                    break
            values = subs.latencies.get(seq, [])
            fd, path = tempfile.mkstemp(prefix="latencies-", suffix=".json")
            with os.fdopen(fd, "wb") as out:
                out.write(orjson.dumps(values))
            print(f"got {seq} {len(values)} {path} {len(subs.errors)}", flush=True)
        elif parts[0] == "errors":
            print("errors " + orjson.dumps(subs.errors[:5]).decode(), flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--query", required=True)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--header", action="append", default=[], help="NAME=VALUE for connection_init")
    args = parser.parse_args()
    headers = dict(h.split("=", 1) for h in args.header)
    subs = Subscribers(args.url, args.query, headers)
    started = time.monotonic()
    await _open_all(subs, args.count, args.concurrency)
    print(f"ready {len(subs.connections)} {time.monotonic() - started:.2f}", flush=True)
    await _commands(subs)
    for task in subs.tasks:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in subs.connections), return_exceptions=True)


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is locked, but the client works without it
        pass
    asyncio.run(main())
