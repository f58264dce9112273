"""The resolver helpers of an executor (``info.async_helpers``) without a reference cycle through it.

graphql-core's ``Executor.__init__`` sets ``self.async_helpers`` to a NamedTuple of two bound
methods of the executor itself (``gather_async_work``, ``track_async_work``): a reference cycle
executor -> helpers -> bound method -> executor. Everything the executor holds (the request
context with its loaders and session, the variables, the plans of :mod:`subgraphs.common.fast_fields`,
graphql-core's collected fields) then outlives the request until the cyclic collector finds it:
every request left a few hundred objects to it, and the collections show as tail latency.

:func:`weak_helpers` gives an executor the same two helpers holding it weakly. While the
execution runs, its own frames hold the executor; a resolver that kept ``info`` and calls a
helper after the executor is gone gets what the helpers do without one (``gather``: graphql-core's
``gather_with_cancel``; ``track``: the awaitables settled in the background by ``asyncio.gather``).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Sequence
from typing import Any

from graphql.execution.executor import Executor
from graphql.pyutils import gather_with_cancel, is_awaitable
from graphql.type.definition import GraphQLResolveInfoHelpers

__all__ = ["weak_helpers"]


def weak_helpers(executor: Executor) -> GraphQLResolveInfoHelpers:
    """``executor``'s ``async_helpers``, holding it weakly (see the module docstring)."""
    ref = weakref.ref(executor)

    def gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
        alive = ref()
        if alive is None:
            return gather_with_cancel(*values)
        return alive.gather_async_work(values)

    def track(values: Sequence[Any]) -> None:
        alive = ref()
        if alive is not None:
            alive.track_async_work(values)
            return
        awaitables = [value for value in values if is_awaitable(value)]
        if awaitables:
            asyncio.gather(*awaitables, return_exceptions=True)

    return GraphQLResolveInfoHelpers(gather=gather, track=track)
