"""Coalescing: concurrent identical queries share one execution of their plan.

The in-flight deduplication of subgraph fetches (gateway/resilience/dedup.py) one level up. While a
query's plan runs, an identical query waits for its outcome instead of running the plan again: its
fetches would have joined the first one's anyway, and what is left per request after a shared
fetch (decoding the shared answer again, building the entity batches, merging, shaping) was most
of the gateway's CPU when concurrent requests were identical (``make bench-dpp``'s dashboard).

Identical means the same prepared operation (document and operation name), the same variable
values as forwarded to subgraphs, the same principal, the same headers for the subgraphs apart
from per-request correlation ids (as for fetches: never across ``Authorization`` or
``X-Tenant-ID``) and the same options. Each request still does its own edge work and its own
checks in :meth:`gateway.runtime.Gateway.execute`: variables coerced, demand control estimated,
authorization decided and reported; only :meth:`~gateway.runtime.Gateway.run_prepared` is shared.
Never mutations or subscriptions, never ``@defer`` delivered incrementally.

The outcome is shared, not copied: callers must not change it. The HTTP edge does not (it copies
what it changes: gateway/http/correlation.py), so ``gateway serve`` turns coalescing on with
``dedup_queries``; a :class:`~gateway.runtime.Gateway` built without ``coalesce=True`` answers every
caller with an outcome of its own. The first request's execution runs as a task of its own (a
caller that goes away does not cancel it while others wait for it; the last one's going does), and a
joined request's subgraph fetches are the first one's (one fetch in the metrics and traces, its
``x-request-id`` at the subgraphs), as with fetch deduplication.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Any

from gateway.contracts import ExecutionOutcome, Principal
from gateway.resilience.dedup import header_identity
from gateway.variables_key import variables_key

__all__ = ["Coalescer"]


class Coalescer:
    """Executions in flight by their identity; :attr:`shared` counts the requests that joined one.

    An execution runs as a task of its own, so a caller that goes away (its client disconnected, its
    router timeout passed) does not cancel it while others wait for it; when the last caller waiting
    for it goes away, it is cancelled and forgotten, as a request's own execution was before (a later
    identical query starts afresh).
    """

    __slots__ = ("_running", "shared")

    def __init__(self) -> None:
        self._running: dict[Hashable, _Shared] = {}
        self.shared = 0  # requests answered by an identical execution already in flight

    def __len__(self) -> int:
        return len(self._running)

    @staticmethod
    def key(operation: object, variables: Mapping[str, Any], headers: Mapping[str, str], principal: Principal,
            include_plan: bool) -> Hashable | None:
        """The identity of one execution, or None when it cannot be told (variables orjson cannot encode).

        ``operation`` is the prepared operation: its identity stands for the document and operation
        name (the caller keeps it alive while its execution runs, so the id is not reused meanwhile).
        """
        values = variables_key(variables)
        if values is None:
            return None
        return id(operation), values, header_identity(headers), principal, include_plan

    async def run(self, key: Hashable, work: Callable[[], Awaitable[ExecutionOutcome]]) -> ExecutionOutcome:
        """``work()``'s outcome, shared with every caller of the same key while it runs."""
        shared = self._running.get(key)
        if shared is None:
            shared = self._running[key] = _Shared(asyncio.ensure_future(work()))
            shared.task.add_done_callback(lambda _t: self._forget(key, shared))
        else:
            self.shared += 1
        shared.waiting += 1
        try:
            return await asyncio.shield(shared.task)
        finally:
            shared.waiting -= 1
            if shared.waiting == 0 and not shared.task.done():
                self._forget(key, shared)  # before cancelling: a caller arriving now must not join it
                shared.task.cancel()

    def _forget(self, key: Hashable, shared: _Shared) -> None:
        if self._running.get(key) is shared:
            del self._running[key]
        task = shared.task
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: a failure nobody awaited any more is not logged as lost


class _Shared:
    """One execution in flight and how many callers wait for it."""

    __slots__ = ("task", "waiting")

    def __init__(self, task: asyncio.Future[ExecutionOutcome]) -> None:
        self.task = task
        self.waiting = 0
