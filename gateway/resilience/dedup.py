"""In-flight deduplication: concurrent identical subgraph fetches share one request.

Identical means the same subgraph and URL, the same encoded body, and the same
forwarded headers apart from per-request correlation ids (``x-request-id``, trace
context): two callers with different Authorization or X-Tenant-ID never share. The
shared result is the raw answer (status and bytes); each caller decodes its own copy,
because the executor merges and renames inside the decoded tree.

The first caller's request runs as a task of its own, so a caller that goes away (its
client disconnected) does not cancel the request the others wait for. Only
idempotent fetches (queries) are deduplicated; the transport decides.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Generic, TypeVar

T = TypeVar("T")

# Headers that differ per client request without changing the subgraph's answer.
CORRELATION_HEADERS = frozenset({"x-request-id", "traceparent", "tracestate"})

DedupKey = tuple[str, str, bytes, tuple[tuple[str, str], ...]]


def header_identity(headers: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """``headers`` as they decide a subgraph's answer: lower-cased names, sorted, correlation ids left out."""
    return tuple(sorted((k.lower(), v) for k, v in headers.items() if k.lower() not in CORRELATION_HEADERS))


def dedup_key(subgraph: str, url: str, body: bytes, headers: Mapping[str, str]) -> DedupKey:
    """The identity of a fetch for sharing (see the module docstring)."""
    return subgraph, url, body, header_identity(headers)


class InFlight(Generic[T]):
    """Requests in flight by key; a second caller with the same key awaits the first one's result.

    Keys are subgraph fetches' :func:`dedup_key` here, whole executions in gateway/coalescing.py."""

    __slots__ = ("_running", "shared")

    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Task[T]] = {}
        self.shared = 0  # callers served by another caller's request (for tests and metrics)

    async def run(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> T:
        """``work()``'s result, shared with every caller of the same key while it runs."""
        task = self._running.get(key)
        if task is None:
            task = asyncio.ensure_future(work())
            self._running[key] = task
            task.add_done_callback(lambda _t: self._forget(key, task))
        else:
            self.shared += 1
        return await asyncio.shield(task)

    def _forget(self, key: Hashable, task: asyncio.Task[T]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled():
            task.exception()  # retrieved, so a failure nobody awaited any more is not logged as lost

    def __len__(self) -> int:
        return len(self._running)
