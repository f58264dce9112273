"""The level-by-level flatten walk finds what the recursive walk finds, in the same order, with the same paths."""

from __future__ import annotations

import random
from typing import Any

from gateway.executor.paths import link_path, walk_levels, walk_recursive

POSSIBLE = {"Media": frozenset({"Book", "Film"})}
PATHS = [
    (),
    ("items",),
    ("items", "@"),
    ("items", "@", "|Book", "author"),
    ("items", "@", "|Media", "reviews", "@", "author"),
    ("items", "@", "reviews", "@", "|Film"),
    ("items", "@", "reviews", "@", "author", "items", "@"),
]


def _tree(rng: random.Random, depth: int) -> Any:
    r = rng.random()
    if depth > 4 or r < 0.1:
        return rng.choice([None, 1, "x"])
    if r < 0.35:
        return [_tree(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    out: dict[str, Any] = {}
    if rng.random() < 0.8:
        out["__typename"] = rng.choice(["Book", "Film", "Media", "Other"])
    for key in ("items", "reviews", "author"):
        if rng.random() < 0.7:
            out[key] = _tree(rng, depth + 1)
    return out


def test_level_walk_matches_recursive_walk() -> None:
    rng = random.Random(7)
    compared = 0
    for _ in range(3000):
        data = _tree(rng, 0)
        for path in PATHS:
            expected: list[tuple[dict[str, Any], Any]] = []
            walk_recursive(data, path, 0, None, expected, possible=POSSIBLE)
            found = walk_levels(data, path, POSSIBLE)
            if found is None:  # a list where the path has no "@": left to the recursive walk
                continue
            assert [id(o) for o in found.objects] == [id(o) for o, _ in expected]
            assert [found.path(n) for n in range(len(found.objects))] == [link_path(link) for _, link in expected]
            compared += bool(expected)
    assert compared > 500
