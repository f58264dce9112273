"""The mutation mix of ``make bench-dpp``: an asyncio client in a process of its own.

wrk sends requests that do not depend on each other; each step of this mix needs an id or a
version from the answer before it, so it is driven from Python (httpx, one connection per
worker). Each worker repeats, signed in as the tenant's admin, through the gateway:
createProduct -> createPassport (on that product) -> setPassportValues (every field)
-> publishPassport, until ``--duration`` seconds have passed. Prints one JSON line:
requests, GraphQL/HTTP errors, requests/s and p50/p99 latency over all four mutations.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

CREATE_PRODUCT = """mutation($input: ProductInput!) { createProduct(input: $input) { id version } }"""
CREATE_PASSPORT = """mutation($input: CreatePassportInput!) { createPassport(input: $input) { id version } }"""
SET_VALUES = """mutation($id: ID!, $v: Int!, $values: [FieldValueInput!]!) {
  setPassportValues(id: $id, expectedVersion: $v, values: $values) { id version missingRequiredFields }
}"""
PUBLISH = (
    """mutation($id: ID!, $v: Int) { publishPassport(id: $id, expectedVersion: $v) { id status publishedVersion } }"""
)


@dataclass
class Tally:
    """What the workers saw."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None


async def _call(client: httpx.AsyncClient, tally: Tally, query: str, variables: dict[str, Any]) -> Any:
    started = time.perf_counter()
    response = await client.post(str(client.base_url).rstrip("/"), json={"query": query, "variables": variables})
    tally.latencies.append(time.perf_counter() - started)
    body = response.json() if response.headers.get("content-type", "").startswith("application") else {}
    if response.status_code != 200 or body.get("errors") or not body.get("data"):
        tally.errors += 1
        tally.first_error = tally.first_error or f"HTTP {response.status_code}: {response.text[:300]}"
        return None
    return next(iter(body["data"].values()))


async def _worker(url: str, token: str, args: argparse.Namespace, deadline: float, tally: Tally) -> None:
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    values = [{"key": k, "value": v} for k, v in json.loads(args.values)]
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        while time.monotonic() < deadline:
            tag = uuid.uuid4().hex[:12].upper()
            product = await _call(
                client,
                tally,
                CREATE_PRODUCT,
                {"input": {"name": f"Mix {tag}", "sku": f"MIX-{tag}", "categoryId": args.category}},
            )
            if product is None or time.monotonic() >= deadline:
                continue
            passport = await _call(
                client,
                tally,
                CREATE_PASSPORT,
                {"input": {"name": f"MIX_{tag}", "productId": product["id"], "templateId": args.template}},
            )
            if passport is None or time.monotonic() >= deadline:
                continue
            updated = await _call(
                client, tally, SET_VALUES, {"id": passport["id"], "v": passport["version"], "values": values}
            )
            if updated is None or time.monotonic() >= deadline:
                continue
            await _call(client, tally, PUBLISH, {"id": updated["id"], "v": updated["version"]})


def _percentile(sorted_values: list[float], share: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(share * len(sorted_values)) - 1))
    return sorted_values[index]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tally = Tally()
    started = time.monotonic()
    deadline = started + args.duration
    await asyncio.gather(*(_worker(args.url, args.token, args, deadline, tally) for _ in range(args.concurrency)))
    elapsed = time.monotonic() - started
    latencies = sorted(tally.latencies)
    return {
        "requests": len(latencies),
        "errors": tally.errors,
        "first_error": tally.first_error,
        "requests_per_second": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/dpp/mutate.py")
    parser.add_argument("--url", required=True, help="the gateway's /graphql")
    parser.add_argument("--token", required=True)
    parser.add_argument("--category", required=True, help="category id of the new products")
    parser.add_argument("--template", required=True, help="template id (PUBLISHED, of that category)")
    parser.add_argument("--values", required=True, help="JSON list of [key, value] pairs for setPassportValues")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(run(args))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
