"""CPU per request with and without the authorization directives, side by side.

The heavy query of ``bench/cpu.py`` through two gateways in one process, against the
same cached bench subgraphs: one on the plain bench supergraph, one on the same
supergraph annotated with ``@authenticated`` / ``@requiresScopes`` / ``@policy`` on
fields and a type the query selects (every level of it: ``users``, ``Review``,
``username``, ``body``, ``price``). The caller holds every right, so both answer the
same bytes: the difference is the authorization check alone. Batches alternate between
the gateways (order reversed every round); best and median batches are printed, with a
second plain gateway as a control for the noise of shared cores, and the decision
alone timed directly. A last line runs a caller lacking the ``price`` scope (a filtered
plan, an error per removed path) for information.

    python bench/authz.py                   # 200 requests x 9 batches each, concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import orjson

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from cpu import run_against_bench_subgraphs  # noqa: E402

from gateway.contracts import GraphQLRequest, Principal  # noqa: E402
from gateway.runtime import Gateway  # noqa: E402
from gateway.serve import settle_heap  # noqa: E402
from gateway.transport import HTTPTransport  # noqa: E402
from subgraphs import HEAVY_QUERY, supergraph_sdl  # noqa: E402

_LINKS = """  @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)
  @link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY)
  @link(url: "https://specs.apollo.dev/requiresScopes/v0.1", for: SECURITY)
  @link(url: "https://specs.apollo.dev/policy/v0.1", for: SECURITY)
"""
_DEFINITIONS = """directive @authenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM

directive @requiresScopes(scopes: [[requiresScopes__Scope!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM

directive @policy(policies: [[policy__Policy!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM

scalar requiresScopes__Scope

scalar policy__Policy

scalar join__FieldSet
"""
_ANNOTATIONS = (
    ("users: [User!]! @join__field(graph: ACCOUNTS)", "users: [User!]! @join__field(graph: ACCOUNTS) @authenticated"),
    (
        "price: Int @join__field(graph: PRODUCTS)",
        'price: Int @join__field(graph: PRODUCTS) @requiresScopes(scopes: [["catalog:read", "prices"], ["admin"]])',
    ),
    (
        "username: String @join__field(graph: ACCOUNTS)",
        'username: String @join__field(graph: ACCOUNTS) @policy(policies: [["identity.audit:read"]])',
    ),
    ("  body: String\n", '  body: String @requiresScopes(scopes: [["reviews:read"]])\n'),
    ("type Review\n  @join__type(graph: REVIEWS)\n", "type Review\n  @join__type(graph: REVIEWS)\n  @authenticated\n"),
)

EVERYTHING = Principal(
    authenticated=True,
    scopes=frozenset({"catalog:read", "prices", "reviews:read"}),
    policies=frozenset({"identity.audit:read"}),
    user_id="u1",
    tenant_id="t1",
)
NO_PRICES = Principal(
    authenticated=True, scopes=frozenset({"reviews:read"}), policies=frozenset({"identity.audit:read"})
)


def annotated_sdl(base_url: str) -> str:
    """The bench supergraph with authorization directives on what the heavy query selects."""
    sdl = supergraph_sdl(base_url)
    sdl = sdl.replace('  @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)\n', _LINKS, 1)
    sdl = sdl.replace("scalar join__FieldSet\n", _DEFINITIONS, 1)
    for old, new in _ANNOTATIONS:
        assert sdl.count(old) == 1, old
        sdl = sdl.replace(old, new)
    return sdl


async def _batch(gateway: Gateway, transport: HTTPTransport, principal: Principal, n: int, concurrency: int) -> int:
    request = GraphQLRequest(query=HEAVY_QUERY)
    size = 0

    async def one() -> None:
        nonlocal size
        outcome = await gateway.execute(request, transport=transport, headers={}, principal=principal)
        size = len(orjson.dumps(outcome.to_response()))

    for start in range(0, n, concurrency):
        await asyncio.gather(*(one() for _ in range(min(concurrency, n - start))))
    return size


async def _main(args: argparse.Namespace, port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    runs = [
        ("without directives", Gateway.from_supergraph_sdl(supergraph_sdl(base)), EVERYTHING),
        ("without directives (second gateway)", Gateway.from_supergraph_sdl(supergraph_sdl(base)), EVERYTHING),
        ("with directives, caller allowed all", Gateway.from_supergraph_sdl(annotated_sdl(base)), EVERYTHING),
        ("with directives, caller lacks price", Gateway.from_supergraph_sdl(annotated_sdl(base)), NO_PRICES),
    ]
    async with HTTPTransport() as transport:
        sizes = []
        for _, gw, principal in runs:
            sizes.append(await _batch(gw, transport, principal, 20, args.concurrency))  # warm up
        if len(set(sizes[:3])) != 1:
            raise SystemExit(f"bench/authz: answers differ ({sizes} bytes)")
        settle_heap()
        samples: list[list[float]] = [[] for _ in runs]
        for round_ in range(args.batches):
            # alternate the order every round, so that drift on shared cores hits both sides alike
            order = list(range(len(runs))) if round_ % 2 == 0 else list(reversed(range(len(runs))))
            for i in order:
                _, gw, principal = runs[i]
                cpu0 = time.process_time()
                await _batch(gw, transport, principal, args.requests, args.concurrency)
                samples[i].append((time.process_time() - cpu0) / args.requests)
    # the decision alone, timed directly: what a request pays on top when nothing is denied
    gw = runs[2][1]
    prepared = gw.prepare(HEAVY_QUERY, None)
    assert prepared.access is not None and prepared.operation is not None
    stage, n = gw._authorization, 20000
    t0 = time.perf_counter()
    for _ in range(n):
        stage.decide(prepared.access, prepared.operation, EVERYTHING)
    decide = (time.perf_counter() - t0) / n
    print(
        f"heavy query, {args.requests} requests x {args.batches} batches per gateway (order alternating), "
        f"concurrency {args.concurrency}; CPU ms per request:"
    )
    print(f"  {'':<38} {'best':>8} {'median':>8}")
    for (label, _, _), cpu, size in zip(runs, samples, sizes, strict=True):
        print(f"  {label:<38} {min(cpu) * 1000:8.3f} {statistics.median(cpu) * 1000:8.3f}   ({size:,} byte answer)")
    base_best, base_median = min(samples[0]), statistics.median(samples[0])
    noise = (statistics.median(samples[1]) - base_median) / base_median * 100
    best = (min(samples[2]) - base_best) / base_best * 100
    median = (statistics.median(samples[2]) - base_median) / base_median * 100
    print(f"authorization overhead: {best:+.2f}% (best), {median:+.2f}% (median); target < 5%")
    print(f"  same gateway twice (noise of this measurement): {noise:+.2f}% (median)")
    print(
        f"  the check alone ({len(prepared.access.checks)} checks, {len(prepared.access.atoms)} requirements): "
        f"{decide * 1e6:.1f} us per request = {decide / base_median * 100:.2f}% of the request's CPU"
    )


def main() -> int:
    """Start the bench subgraphs, measure, stop them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--batches", type=int, default=9)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    run_against_bench_subgraphs("bench/authz", lambda port: _main(args, port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
