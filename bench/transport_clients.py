"""Measure the HTTP clients the gateway could use to reach subgraphs.

Starts a local uvicorn server (a raw ASGI app answering a cached GraphQL
``_entities`` response, so the server is cheap and the client is what is
measured), then sends the same pooled keep-alive POSTs through each client, on
uvloop like the gateway, with orjson on both ends.

    python bench/transport_clients.py [--requests 20000] [--concurrency 64] [--size 2000]

Clients that are not installed are skipped. Prints requests/s per client.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import orjson

SERVER = """
import sys, orjson, uvicorn
size = int(sys.argv[2])
item = {"__typename": "Review", "id": "r1", "body": "x" * 40, "rating": 5}
reps = max(1, size // len(orjson.dumps(item)))
BODY = orjson.dumps({"data": {"_entities": [item] * reps}})
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            loop="uvloop", http="httptools", access_log=False)
"""

PAYLOAD = {
    "query": "query($representations:[_Any!]!){_entities(representations:$representations)"
    "{... on Review{id body rating}}}",
    "variables": {"representations": [{"__typename": "Review", "id": f"r{i}"} for i in range(10)]},
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _drive(send: Callable[[], Awaitable[int]], requests: int, concurrency: int) -> float:
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await send()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return requests / (time.perf_counter() - started)


async def bench_httpx(url: str, requests: int, concurrency: int) -> float:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        headers = {"content-type": "application/json"}

        async def send() -> int:
            response = await client.post(url, content=orjson.dumps(PAYLOAD), headers=headers)
            orjson.loads(response.content)
            return response.status_code

        await _drive(send, 500, concurrency)  # warm the pool
        return await _drive(send, requests, concurrency)


async def bench_aiohttp(url: str, requests: int, concurrency: int) -> float:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        headers = {"content-type": "application/json"}

        async def send() -> int:
            async with session.post(url, data=orjson.dumps(PAYLOAD), headers=headers) as response:
                orjson.loads(await response.read())
                return response.status

        await _drive(send, 500, concurrency)
        return await _drive(send, requests, concurrency)


def main() -> int:
    """Run every installed client against one local server and print requests/s."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--size", type=int, default=2000, help="approximate response size in bytes")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(args.size)])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}/graphql"
        import uvloop

        benches = {"httpx": bench_httpx, "aiohttp": bench_aiohttp}
        for name, bench in benches.items():
            try:
                __import__(name)
            except ImportError:
                print(f"{name}: not installed, skipped")
                continue
            results = [uvloop.run(bench(url, args.requests, args.concurrency)) for _ in range(args.rounds)]
            best = max(results)
            print(f"{name}: " + ", ".join(f"{r:,.0f}" for r in results) + f" req/s (best {best:,.0f})")
    finally:
        server.terminate()
        server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
