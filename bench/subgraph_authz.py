"""Per-field cost of the subgraph's authorization check (subgraphs/common/authz.py), two designs compared.

A 50-item list query (6 fields per item, one of them annotated, plus the annotated list field) on a
small Strawberry schema, executed in process with a signed-in caller who passes every check:

* ``none``: no authorization at all;
* ``wrap``: :class:`subgraphs.common.authz.Authorize`, which wraps only the annotated resolvers once;
* ``middleware``: the alternative, a ``SchemaExtension.resolve`` hook (graphql-core middleware) doing
  one dict lookup for every field of every request.

Prints the CPU time per request (best of 6 rounds of 300, rounds interleaved) and the Python
function calls per request (cProfile; deterministic, unlike timings on shared cores).

    .venv/bin/python bench/subgraph_authz.py
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import strawberry
from strawberry.extensions import SchemaExtension

from subgraphs.common.authz import Authorize, authenticated, requirements
from subgraphs.common.caller import Caller
from subgraphs.common.graphql import ShapeErrors


@strawberry.type
class Row:
    id: strawberry.ID
    name: str
    sku: str
    a: int
    b: int
    secret: str | None = strawberry.field(directives=authenticated())


@strawberry.type
class Query:
    @strawberry.field(directives=authenticated())
    def rows(self) -> list[Row]:
        return [Row(id=strawberry.ID(str(i)), name=f"n{i}", sku=f"s{i}", a=i, b=i, secret="x") for i in range(50)]


class Middleware(SchemaExtension):
    """The alternative design: a resolve hook on every field."""

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        table = info.schema.extensions.get("bench-middleware")
        if table is None:
            table = info.schema.extensions["bench-middleware"] = requirements(info.schema)
        requirement = table.get((info.parent_type.name, info.field_name))
        if requirement is not None:
            denial = requirement.denial(info.context.caller)
            if denial is not None:
                raise denial
        return _next(root, info, *args, **kwargs)


@dataclass
class Context:
    caller: Caller


QUERY = "{ rows { id name sku a b secret } }"
CONTEXT = Context(Caller(user_id="u", tenant_id="t"))


def schema(*extensions: Any) -> strawberry.federation.Schema:
    return strawberry.federation.Schema(query=Query, extensions=[ShapeErrors, *extensions])


async def cpu_per_request(subject: strawberry.federation.Schema, n: int = 300) -> float:
    started = time.process_time()
    for _ in range(n):
        result = await subject.execute(QUERY, context_value=CONTEXT)
        assert not result.errors, result.errors
    return (time.process_time() - started) / n * 1e6


async def calls_per_request(subject: strawberry.federation.Schema) -> int:
    await subject.execute(QUERY, context_value=CONTEXT)
    profile = cProfile.Profile()
    profile.enable()
    await subject.execute(QUERY, context_value=CONTEXT)
    profile.disable()
    return int(pstats.Stats(profile).total_calls)  # type: ignore[attr-defined]


async def main() -> None:
    subjects = {"none": schema(), "wrap": schema(Authorize), "middleware": schema(Middleware)}
    for subject in subjects.values():
        await cpu_per_request(subject, 30)  # warm up (and install the wrapped resolvers)
    best: dict[str, float] = {name: float("inf") for name in subjects}
    for _ in range(6):
        for name, subject in subjects.items():
            best[name] = min(best[name], await cpu_per_request(subject))
    for name, subject in subjects.items():
        extra = (best[name] / best["none"] - 1) * 100
        calls = await calls_per_request(subject)
        print(f"{name:10s} {best[name]:8.0f} us CPU/request ({extra:+5.1f}%)  {calls:6d} Python calls/request")


if __name__ == "__main__":
    asyncio.run(main())
