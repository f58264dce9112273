"""CPU time per request of the gateway runtime on the benchmark's heavy query.

Wall-clock req/s on shared cores is noisy; CPU seconds spent in this process for N
requests is a steadier figure to compare two versions of the gateway. Starts the
cached bench subgraphs in a child process, then runs the heavy query N times through
``Gateway.execute`` with the production aiohttp transport (the HTTP edge is left out:
``bench/run.py`` measures the whole server) and encodes each response as the edge does.

    python bench/cpu.py                     # CPU ms per request, best of 5 batches of 200
    python bench/cpu.py --profile out.prof  # also write a cProfile of one batch
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import orjson

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from gateway.contracts import GraphQLRequest  # noqa: E402
from gateway.runtime import Gateway  # noqa: E402
from gateway.serve import settle_heap  # noqa: E402
from gateway.transport import HTTPTransport  # noqa: E402
from subgraphs import HEAVY_QUERY, supergraph_sdl  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _batch(gateway: Gateway, transport: HTTPTransport, n: int, concurrency: int) -> int:
    request = GraphQLRequest(query=HEAVY_QUERY)
    size = 0

    async def one() -> None:
        nonlocal size
        outcome = await gateway.execute(request, transport=transport, headers={})
        if outcome.errors:
            raise SystemExit(f"bench/cpu: errors in the answer: {outcome.errors[:3]}")
        size = len(orjson.dumps(outcome.to_response()))

    for start in range(0, n, concurrency):
        await asyncio.gather(*(one() for _ in range(min(concurrency, n - start))))
    return size


async def _main(args: argparse.Namespace, port: int) -> None:
    gateway = Gateway.from_supergraph_sdl(supergraph_sdl(f"http://127.0.0.1:{port}"))
    async with HTTPTransport() as transport:
        size = await _batch(gateway, transport, 20, args.concurrency)  # warm up: plan cache, pool
        settle_heap()  # as `gateway serve` does once the supergraph is loaded
        results = []
        for _ in range(args.batches):
            cpu0, wall0 = time.process_time(), time.perf_counter()
            await _batch(gateway, transport, args.requests, args.concurrency)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            results.append((cpu / args.requests, wall / args.requests))
        best_cpu = min(r[0] for r in results)
        print(
            f"heavy query ({size:,} byte answer), {args.requests} requests x {args.batches} batches, "
            f"concurrency {args.concurrency}: CPU {best_cpu * 1000:.2f} ms/request (best), "
            f"median {sorted(r[0] for r in results)[len(results) // 2] * 1000:.2f} ms"
        )
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            await _batch(gateway, transport, args.requests, args.concurrency)
            profiler.disable()
            profiler.dump_stats(args.profile)
            print(f"profile written to {args.profile}")


def run_against_bench_subgraphs(name: str, measure: Callable[[int], Coroutine[Any, Any, None]]) -> None:
    """Start bench/subgraphs.py on a free port, run ``measure(port)`` on uvloop when installed, stop them.

    Shared by the in-process benches (cpu, authz, telemetry) so that each measures the same way.
    """
    port = _free_port()
    sub = subprocess.Popen(
        [sys.executable, str(BENCH / "subgraphs.py"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.post(f"http://127.0.0.1:{port}/accounts", json={"query": "{ __typename }"}, timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or sub.poll() is not None:
                    raise SystemExit(f"{name}: subgraphs did not start") from None
                time.sleep(0.1)
        try:
            import uvloop

            uvloop.run(measure(port))
        except ImportError:
            asyncio.run(measure(port))
    finally:
        sub.terminate()
        sub.wait(timeout=15)


def main() -> int:
    """Start the bench subgraphs, measure, stop them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--profile", metavar="FILE")
    args = parser.parse_args()
    run_against_bench_subgraphs("bench/cpu", lambda port: _main(args, port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
