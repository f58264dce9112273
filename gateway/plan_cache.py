"""The gateway's cache of prepared operations, bounded by entries and by estimated bytes.

A prepared operation keeps its parsed document, its normalised operation, its plan
and the response-shaping work of its executions. Counting entries alone let a few
hundred large documents hold a gigabyte; this cache also keeps the sum of estimated
sizes under ``max_bytes`` and evicts the least recently used entries to get there.
An entry larger than the whole budget is not kept at all.

The estimate is deliberately cheap (it runs once per distinct operation, on the
request path) and errs on the large side. Measured with tracemalloc on the
benchmark's supergraph (the heavy query, the full introspection query, small and
medium operations), a prepared operation retained about 24 KB of fixed overhead
(operation, plan and shaping objects) plus about 80 bytes per character of the
printed document (AST nodes with locations, normalised selections) plus about
16 bytes per character of the printed plan (fetch nodes, subgraph operation texts);
the model below is within -20 % / +30 % of those measurements. The cache key (the
operation text) is counted at its length. Introspection answers are kept per
operation later (up to 16 variable sets, see ``gateway.runtime``), so an operation
with introspection fields is charged a reserve for them up front.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

FIXED_BYTES = 24_576
BYTES_PER_DOCUMENT_CHAR = 80
BYTES_PER_PLAN_CHAR = 16
ERROR_ENTRY_BYTES = 1_024
INTROSPECTION_RESERVE_BYTES = 262_144
DEFAULT_MAX_BYTES = 128 * 1024 * 1024


def estimate_prepared_bytes(
    key_chars: int,
    *,
    document_chars: int = 0,
    plan_chars: int = 0,
    introspection_fields: int = 0,
    errors: int = 0,
) -> int:
    """Estimated bytes one cache entry holds (see the module docstring for the model).

    ``errors`` > 0 with nothing else: a refused or invalid document, which keeps only
    its key and its error dicts.
    """
    if errors and not document_chars:
        return key_chars + ERROR_ENTRY_BYTES * errors
    return (
        key_chars
        + FIXED_BYTES
        + BYTES_PER_DOCUMENT_CHAR * document_chars
        + BYTES_PER_PLAN_CHAR * plan_chars
        + INTROSPECTION_RESERVE_BYTES * introspection_fields
    )


class PlanCache(Generic[V]):
    """A least-recently-used map bounded by ``max_entries`` and by ``max_bytes`` of estimates."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._bytes = 0

    def get(self, key: Hashable) -> V | None:
        """The cached value (now the most recently used), or None."""
        hit = self._entries.get(key)
        if hit is None:
            return None
        self._entries.move_to_end(key)
        return hit[0]

    def put(self, key: Hashable, value: V, size: int) -> None:
        """Keep ``value`` under ``key``, evicting the least recently used entries as needed."""
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old[1]
        if size > self.max_bytes or self.max_entries <= 0:
            return
        self._entries[key] = (value, size)
        self._bytes += size
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _key, (_value, evicted) = self._entries.popitem(last=False)
            self._bytes -= evicted

    def clear(self) -> None:
        """Drop every entry."""
        self._entries.clear()
        self._bytes = 0

    @property
    def bytes(self) -> int:
        """The sum of the estimates of the entries held."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)
