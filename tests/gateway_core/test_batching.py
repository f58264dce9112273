"""The fast batching path (level walk + inlined representations) builds what the reference builds.

Random data trees with duplicate keys, missing keys, nulls and abstract types: for a fetch
without @fromContext, :func:`single_batch` over :func:`walk_levels` and
:func:`batches_by_context` over the recursive walk must give the same representations in the
same order, the same owners (by identity) and the same error paths.
"""

from __future__ import annotations

import random
from typing import Any

from gateway.executor.batching import batches_by_context, entity_batches, single_batch
from gateway.executor.paths import walk_levels
from gateway.planner.nodes import FetchNode, Representation, SelSet

POSSIBLE = {"Media": frozenset({"Book", "Film"})}
PATHS = [
    ("items", "@"),
    ("items", "@", "|Book"),
    ("items", "@", "|Media", "related", "@"),
    ("items", "@", "related", "@", "|Film"),
    ("top",),
]


def _requires() -> dict[str, Representation]:
    book = SelSet()
    book.add_field("id", "id")
    film = SelSet()
    film.add_field("id", "id")
    owner = film.add_field("owner", "owner", composite=True)
    assert owner is not None
    owner.add_field("name", "name")
    frag = film.add_fragment("Media")
    frag.add_field("year", "year")
    return {"Book": Representation("Book", book), "Film": Representation("Media", film)}


def _object(rng: random.Random, depth: int) -> Any:
    if rng.random() < 0.08:
        return None
    out: dict[str, Any] = {}
    if rng.random() < 0.9:
        out["__typename"] = rng.choice(["Book", "Film", "Other"])
    if rng.random() < 0.9:
        out["id"] = rng.randint(1, 4)  # few ids: many duplicates
    if rng.random() < 0.6:
        out["owner"] = rng.choice([None, {"name": rng.choice(["a", "b"])}, {"__typename": "P", "name": "c"}])
    if rng.random() < 0.6:
        out["year"] = rng.choice([None, 1999, 2000])
    if depth < 2 and rng.random() < 0.6:
        out["related"] = [_object(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return out


def _tree(rng: random.Random) -> dict[str, Any]:
    return {"items": [_object(rng, 0) for _ in range(rng.randint(0, 6))], "top": _object(rng, 0)}


def test_single_batch_matches_reference_batches() -> None:
    rng = random.Random(11)
    requires = _requires()
    fetch = FetchNode(
        subgraph="s", operation="", operation_kind="query", variable_usages=(), selection=SelSet(), requires=requires
    )
    compared = 0
    for _ in range(2000):
        data = _tree(rng)
        for path in PATHS:
            found = walk_levels(data, path, POSSIBLE)
            assert found is not None
            fast = single_batch(found, requires, POSSIBLE)
            reference = batches_by_context(data, path, fetch, POSSIBLE)
            if not fast.reps:
                assert reference == []
                assert entity_batches(data, path, fetch, POSSIBLE) == []
                continue
            assert len(reference) == 1
            ref = reference[0]
            assert fast.reps == ref.reps
            assert [[id(o) for o in owners] for owners in fast.owners] == [
                [id(o) for o in owners] for owners in ref.owners
            ]
            assert [fast.path(i) for i in range(len(fast.reps))] == [ref.path(i) for i in range(len(ref.reps))]
            assert entity_batches(data, path, fetch, POSSIBLE)[0].reps == ref.reps
            compared += 1
    assert compared > 1000
