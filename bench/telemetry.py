"""CPU cost per request of the gateway's telemetry, on the benchmark's heavy query.

Runs the same loop as ``bench/cpu.py`` (``Gateway.execute`` with the production transport
against the cached bench subgraphs) in three variants, alternating batches so drift hits
each alike: ``bare`` (no telemetry: tracing off costs only the stage spans' ContextVar
reads, which ``bare`` already pays), ``metrics`` (the request observation and the
instrumented transport, as every request pays them in ``gateway serve``), and ``tracing``
(metrics plus spans for the request, its stages and fetches, batched to an exporter that
drops them). Prints best and median CPU ms per request of each.

    python bench/telemetry.py
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from starlette.requests import Request

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import cpu  # noqa: E402

from gateway.contracts import GraphQLRequest, SubgraphTransport  # noqa: E402
from gateway.runtime import Gateway  # noqa: E402
from gateway.settings import Settings  # noqa: E402
from gateway.telemetry import Telemetry, Tracing  # noqa: E402
from gateway.transport import HTTPTransport  # noqa: E402
from subgraphs import HEAVY_QUERY, supergraph_sdl  # noqa: E402


class _Drop(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _request() -> Request:
    return Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/graphql",
            "scheme": "http",
            "root_path": "",
            "server": ("127.0.0.1", 4000),
            "query_string": b"",
            "headers": [(b"apollographql-client-name", b"bench"), (b"apollographql-client-version", b"1")],
        }
    )


async def _batch(
    gateway: Gateway, transport: SubgraphTransport, telemetry: Telemetry | None, n: int, concurrency: int
) -> None:
    request = GraphQLRequest(query=HEAVY_QUERY, operation_name=None)

    async def one(i: int) -> None:
        if telemetry is None:
            outcome = await gateway.execute(request, transport=transport, headers={})
        else:
            with telemetry.observe(_request(), f"bench-{i}") as observed:
                observed.parsed(request, "Heavy")
                outcome = await gateway.execute(request, transport=transport, headers={})
                observed.executed(outcome, [])
                observed.status = 200
        if outcome.errors:
            raise SystemExit(f"bench/telemetry: errors in the answer: {outcome.errors[:3]}")

    for start in range(0, n, concurrency):
        await asyncio.gather(*(one(start + k) for k in range(min(concurrency, n - start))))


async def _main(args: argparse.Namespace, port: int) -> None:
    gateway = Gateway.from_supergraph_sdl(supergraph_sdl(f"http://127.0.0.1:{port}"))
    settings = Settings()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(_Drop()))
    variants: dict[str, Telemetry | None] = {
        "bare": None,
        "metrics": Telemetry.from_settings(settings, tracing=None),
        "tracing": Telemetry.from_settings(settings, tracing=Tracing(provider)),
    }
    variants["metrics"].tracing = None  # type: ignore[union-attr]  # from_settings reads OTEL_*: force off
    async with HTTPTransport() as transport:
        wrapped = {name: t.instrument(transport) if t else transport for name, t in variants.items()}
        results: dict[str, list[float]] = {name: [] for name in variants}
        for name, telemetry in variants.items():
            await _batch(gateway, wrapped[name], telemetry, 20, args.concurrency)  # warm up
        for _ in range(args.batches):
            for name, telemetry in variants.items():
                cpu0 = time.process_time()
                await _batch(gateway, wrapped[name], telemetry, args.requests, args.concurrency)
                results[name].append((time.process_time() - cpu0) / args.requests * 1000)
        for name, values in results.items():
            values.sort()
            print(
                f"{name:8s} CPU {values[0]:.3f} ms/request best, {values[len(values) // 2]:.3f} median "
                f"({args.requests} requests x {args.batches} batches, concurrency {args.concurrency})"
            )
        provider.shutdown()


def main() -> int:
    """Start the bench subgraphs (as bench/cpu.py does), measure, stop them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--batches", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    cpu.run_against_bench_subgraphs("bench/telemetry", lambda port: _main(args, port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
