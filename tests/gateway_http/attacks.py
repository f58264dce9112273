"""The hostile operations of issue 10, shared by the gateway and subgraph attack tests.

Each attack is a document plus the limit codes it must be refused with. ``object_type``
and ``root`` adapt the documents to a schema: a field of the query type returning a
list of ``object_type``, whose ``id_field`` is a scalar.
"""

from __future__ import annotations

import gc
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from graphql_limits import (
    MAX_ALIASES_LIMIT,
    MAX_DEPTH_LIMIT,
    MAX_FRAGMENTS_LIMIT,
    MAX_HEIGHT_LIMIT,
    MAX_INTROSPECTION_FIELDS_LIMIT,
    MAX_TOKENS_LIMIT,
)


@dataclass(frozen=True)
class Attack:
    name: str
    query: str
    codes: frozenset[str]  # the refusal carries at least one of these codes


def attacks(root: str, object_type: str, id_field: str, deep: str) -> list[Attack]:
    """The attacks, for a schema where ``{ root { id_field } }`` is valid (``root`` answers
    ``object_type`` items) and ``deep`` is a valid operation over 40 levels deep."""
    frags = [f"fragment F{i} on {object_type} {{ ...F{i + 1} ...F{i + 1} }}" for i in range(20)]
    frags.append(f"fragment F20 on {object_type} {{ {id_field} }}")
    bomb = f"{{ {root} {{ ...F0 }} }}\n" + "\n".join(frags)
    return [
        Attack("fragment bomb: 20 levels, each spreading the next twice", bomb, frozenset({MAX_HEIGHT_LIMIT})),
        Attack(
            "48,000 aliases (about 900 KB)",
            "{ " + " ".join(f"a{i}: __typename" for i in range(48_000)) + " }",
            frozenset({MAX_TOKENS_LIMIT}),
        ),
        Attack(
            "1,000 aliases under the token limit",
            "{ " + " ".join(f"a{i}: __typename" for i in range(1_000)) + " }",
            frozenset({MAX_ALIASES_LIMIT}),
        ),
        Attack(
            "1,000 aliased __schema selections",
            "{ " + " ".join(f"s{i}: __schema {{ types {{ name }} }}" for i in range(1_000)) + " }",
            frozenset({MAX_TOKENS_LIMIT, MAX_ALIASES_LIMIT, MAX_INTROSPECTION_FIELDS_LIMIT}),
        ),
        Attack(
            "200 aliased __schema selections under the token limit",
            "{ " + " ".join(f"s{i}: __schema {{ types {{ name }} }}" for i in range(200)) + " }",
            frozenset({MAX_ALIASES_LIMIT, MAX_INTROSPECTION_FIELDS_LIMIT}),
        ),
        Attack(
            "10,000 distinct fragments",
            f"{{ {root} {{ ...G0 }} }}\n"
            + "\n".join(f"fragment G{i} on {object_type} {{ {id_field} }}" for i in range(10_000)),
            frozenset({MAX_TOKENS_LIMIT}),
        ),
        Attack(
            "500 fragments under the token limit",
            f"{{ {root} {{ ...G0 }} }}\n"
            + "\n".join(f"fragment G{i} on {object_type} {{ {id_field} }}" for i in range(500)),
            frozenset({MAX_FRAGMENTS_LIMIT}),
        ),
        Attack("over 40 levels of nesting", deep, frozenset({MAX_DEPTH_LIMIT})),
        Attack("1,500 nested braces", "{ a " + "{ a " * 1_500 + "}" * 1_501, frozenset({MAX_DEPTH_LIMIT})),
    ]


@dataclass
class Prober:
    """Sends a small query again and again from its own thread; records each latency."""

    send: Callable[[], bool]  # True when the answer was the expected one
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            ok = self.send()
            self.latencies.append(time.perf_counter() - started)
            self.failures += not ok
            time.sleep(0.01)

    @contextmanager
    def running(self) -> Iterator[Prober]:
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(timeout=60)

    @property
    def worst(self) -> float:
        return max(self.latencies, default=0.0)

    @property
    def median(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[len(ordered) // 2] if ordered else 0.0


def under_attack(attacks: list[Attack], send: Callable[[str], object], small: Callable[[], bool]) -> tuple[Prober, int]:
    """Send every attack three times while ``small`` probes the server, then three times again under
    tracemalloc; returns the prober (latencies of ``small`` meanwhile) and the memory growth in bytes.

    Each attack is sent once first, so the baseline is not charged for imports and first-time paths;
    each round uses distinct texts, so nothing is answered from a cache. Latency is measured without
    tracemalloc, which slows every thread of the process.
    """
    for attack in attacks:
        send(attack.query)

    def run_attacks(tag: str) -> None:
        for round_ in range(3):
            for i, attack in enumerate(attacks):
                send(f"# {tag} {round_} {i}\n" + attack.query)

    prober = Prober(small)
    with prober.running():
        run_attacks("latency")
        time.sleep(0.2)
    gc.collect()
    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        run_attacks("memory")
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return prober, after - before
