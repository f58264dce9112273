"""Incremental delivery of ``@defer``: the first payload, then one payload per deferred block.

The payloads follow the incremental delivery format Apollo Router and Apollo Client speak
(``deferSpec=20220824``): the first is ``{"data", "errors"?, "hasNext": true}``; each later one
``{"incremental": [{"data", "path", "label"?, "errors"?}, ...], "hasNext"}``, one item per
object the deferred fragment applies to (one per list element), the last with ``hasNext: false``.

Execution reuses the executor unchanged: every block runs its plan with
:func:`gateway.executor.run_plan` over the one raw data tree of the request (a block's first
fetch reads the keys the primary, or the enclosing block, put there), with errors of its own.
Shaping reuses :class:`gateway.executor.ResponseFormatter` (same field order, helper fields
hidden, same null propagation) on each item's object. A block starts once the block it depends
on has run; a block anchored at the root depends on nothing and starts with the primary. Items
are shaped at delivery time against what the client has already been sent, so a fragment inside
a deferred fragment finds its objects, and an object nulled earlier gets no item.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLDeferDirective, GraphQLObjectType, GraphQLSchema

from gateway.contracts import ExecutionOutcome
from gateway.executor import FetchContext, ResponseFormatter, merge, run_plan
from gateway.executor.response import _BUBBLE
from gateway.planner.defer import DeferBlock, DeferPlan
from gateway.planner.nodes import TYPE_FILTER, FetchNode
from gateway.planner.operation import OpFragment, conditions_hold

__all__ = ["IncrementalOutcome", "IncrementalRun", "incremental_outcome", "with_defer"]

logger = logging.getLogger("gateway.incremental")


@dataclass(slots=True)
class IncrementalOutcome(ExecutionOutcome):
    """The first payload of an incrementally delivered result; ``subsequent`` yields the rest."""

    subsequent: AsyncIterator[dict[str, Any]] | None = None

    def to_response(self) -> dict[str, Any]:
        body = ExecutionOutcome.to_response(self)
        body["hasNext"] = True
        return body


class _Formatter(ResponseFormatter):
    """The reference formatter, asked for one object of the response at a known path."""

    def subtree(self, type_: GraphQLObjectType, block: DeferBlock, raw: Mapping[str, Any], path: list[Any],
                introspection: Mapping[str, Any] | None) -> dict[str, Any] | None:
        linked: Any = None
        for seg in path:
            linked = (linked, seg)
        result = self._object(type_, block.shape, raw, linked, introspection)
        return None if result is _BUBBLE else result  # type: ignore[no-any-return]


def _at_root(block: DeferBlock) -> bool:
    """Whether the block's fetches start at the root (an operation of its own, needing no data)."""
    node = block.node.node
    while node is not None and not isinstance(node, FetchNode):
        first = getattr(node, "nodes", None)
        if first is None:
            return False  # a flatten: it reads objects of the data tree
        node = first[0]
    return True


class IncrementalRun:
    """One execution of a :class:`DeferPlan`: :meth:`initial` first, then iterate :meth:`subsequent`."""

    def __init__(self, schema: GraphQLSchema, plan: DeferPlan, variables: Mapping[str, Any],
                 context: Callable[[dict[str, Any]], FetchContext],
                 introspection: Mapping[str, Any] | None = None) -> None:
        self.schema = schema
        self.plan = plan
        self.variables = variables
        self._context = context  # a FetchContext over the given data tree (errors of its own)
        self._introspection = introspection or {}
        self._data: dict[str, Any] = {}
        self._sent: dict[str, Any] = {}  # what the client holds so far (shaped)
        self._done: asyncio.Queue[tuple[DeferBlock, list[dict[str, Any]]]] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._children: dict[int | None, list[DeferBlock]] = {}
        for b in plan.blocks:
            self._children.setdefault(b.node.depends, []).append(b)

    async def initial(self, initial_errors: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """Run the primary (root blocks start beside it) and shape the first payload."""
        early = [b for b in self._children.get(None, []) if _at_root(b)]
        for b in early:
            self._start(b)
        ctx = self._context(self._data)
        ctx.errors.extend(initial_errors)
        try:
            await run_plan(self.plan.node.primary, ctx)
        except BaseException:
            await self.aclose()
            raise
        formatter = _Formatter(self.schema, self.variables, ctx.errors)
        data = formatter.format(self.plan.primary, self._data, self._introspection)
        self._sent = orjson.loads(orjson.dumps(data)) if data is not None else {}
        if data is not None:
            for b in self._children.get(None, []):
                if b not in early:
                    self._start(b)
        return data, ctx.errors

    async def subsequent(self) -> AsyncIterator[dict[str, Any]]:
        """The later payloads, each as soon as its block's data is in; the last says ``hasNext: false``."""
        remaining = self._count(None)
        try:
            while remaining:
                block, errors = await self._done.get()
                remaining -= 1
                try:
                    items, loose = self._items(block, errors)
                except Exception:  # a bug must cost this part, not the stream (and no traceback leaks)
                    logger.exception("shaping deferred block %s failed", block.node.id)
                    items, loose = [], [{"message": "Internal server error",
                                         "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]
                for child in self._children.get(block.node.id, []):
                    if items:
                        self._start(child)
                    else:
                        remaining -= self._count(child.node.id) + 1  # nothing to defer below
                if not items and not loose and remaining:
                    continue
                payload: dict[str, Any] = {}
                if items:
                    payload["incremental"] = items
                if loose:
                    payload["errors"] = loose
                payload["hasNext"] = remaining > 0
                yield payload
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Cancel blocks still running (the client left, or the deadline passed)."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _count(self, block_id: int | None) -> int:
        """Blocks below ``block_id`` (all of them for ``None``)."""
        kids = self._children.get(block_id, [])
        return sum(1 + self._count(k.node.id) for k in kids)

    def _start(self, block: DeferBlock) -> None:
        task = asyncio.create_task(self._run(block))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, block: DeferBlock) -> None:
        ctx = self._context(self._data)
        try:
            await run_plan(block.node.node, ctx)
        except asyncio.CancelledError:
            raise
        except Exception:  # the executor guards each fetch; anything else must not hang the stream
            logger.exception("deferred block %s failed", block.node.id)
            ctx.errors.append({"message": "Internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}})
        self._done.put_nowait((block, ctx.errors))

    # -- shaping ------------------------------------------------------------------------------

    def _items(self, block: DeferBlock, errors: list[dict[str, Any]]
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """One item per object the fragment applies to; errors go to the item holding their path
        (the ones that fit none are returned apart)."""
        items: list[dict[str, Any]] = []
        own: list[list[dict[str, Any]]] = []
        shape = block.shape[0]
        cond = shape.type_condition if isinstance(shape, OpFragment) else None
        fetch_errors = list(errors)
        if not conditions_hold(shape.conditions, self.variables):
            return [], fetch_errors  # @skip / @include left the fragment out: no item
        for path, sent, raw in self._locate(block.node.path):
            type_ = self._runtime_type(block, raw)
            if type_ is None or (cond is not None and not _applies(self.schema, cond, type_)):
                continue
            # with the fetch errors in, the formatter only reports nulls they do not explain
            errs = list(fetch_errors)
            data = _Formatter(self.schema, self.variables, errs).subtree(
                type_, block, raw, path, self._introspection if not path else None)
            shaped_errors = errs[len(fetch_errors):]
            item: dict[str, Any] = {"data": data, "path": path}
            if block.node.label is not None:
                item["label"] = block.node.label
            items.append(item)
            own.append(shaped_errors)
            if data is not None:
                merge(sent, orjson.loads(orjson.dumps(data)), frozenset())
        loose: list[dict[str, Any]] = []
        for err in fetch_errors:
            epath = err.get("path")
            index = next((i for i, it in enumerate(items)
                          if isinstance(epath, list) and epath[: len(it["path"])] == it["path"]), None)
            if index is None and items:
                index = 0
            (own[index] if index is not None else loose).append(err)
        for item, errs in zip(items, own, strict=True):
            if errs:
                item["errors"] = errs
        return items, loose

    def _runtime_type(self, block: DeferBlock, raw: Mapping[str, Any]) -> GraphQLObjectType | None:
        tn = raw.get("__typename")
        t = self.schema.get_type(tn) if isinstance(tn, str) else None
        if isinstance(t, GraphQLObjectType):
            return t
        t = self.schema.get_type(block.type)
        return t if isinstance(t, GraphQLObjectType) else None

    def _locate(self, template: tuple[str, ...]) -> list[tuple[list[Any], dict[str, Any], dict[str, Any]]]:
        """The objects at ``template`` that the client holds: (path, shaped object, raw object)."""
        found: list[tuple[list[Any], dict[str, Any], dict[str, Any]]] = []
        stack: list[tuple[Any, Any, int, list[Any]]] = [(self._sent, self._data, 0, [])]
        while stack:
            sent, raw, i, path = stack.pop()
            if i == len(template):
                if isinstance(sent, dict) and isinstance(raw, dict):
                    found.append((path, sent, raw))
                continue
            seg = template[i]
            if seg == "@":
                if isinstance(sent, list) and isinstance(raw, list) and len(sent) == len(raw):
                    stack.extend((s, r, i + 1, [*path, j]) for j, (s, r) in enumerate(zip(sent, raw, strict=True)))
            elif seg.startswith(TYPE_FILTER):
                if isinstance(raw, dict) and raw.get("__typename") == seg[len(TYPE_FILTER):]:
                    stack.append((sent, raw, i + 1, path))
            elif isinstance(sent, dict) and isinstance(raw, dict) and sent.get(seg) is not None:
                stack.append((sent[seg], raw.get(seg), i + 1, [*path, seg]))
        found.sort(key=lambda f: [str(p).zfill(12) if isinstance(p, int) else p for p in f[0]])
        return found


def _applies(schema: GraphQLSchema, condition: str, type_: GraphQLObjectType) -> bool:
    if condition == type_.name:
        return True
    t = schema.get_type(condition)
    return t is not None and schema.is_sub_type(t, type_)  # type: ignore[arg-type]


def with_defer(schema: GraphQLSchema) -> GraphQLSchema:
    """``schema`` plus the ``@defer`` directive, for validating requests (introspection keeps
    showing the API schema itself)."""
    if schema.get_directive("defer") is not None:
        return schema
    kwargs = schema.to_kwargs()
    kwargs["directives"] = (*schema.directives, GraphQLDeferDirective)
    return GraphQLSchema(**kwargs)


async def incremental_outcome(
    plan: DeferPlan,
    schema: GraphQLSchema,
    variables: Mapping[str, Any],
    context: Callable[[dict[str, Any]], FetchContext],
    *,
    operation_type: str,
    initial_errors: list[dict[str, Any]],
    introspection: Mapping[str, Any] | None = None,
) -> ExecutionOutcome:
    """Run the primary of ``plan``: the first payload, carrying the rest (a plain outcome when
    the first payload's data is null: nothing is left to deliver)."""
    run = IncrementalRun(schema, plan, variables, context, introspection)
    data, errors = await run.initial(initial_errors)
    if data is None:
        await run.aclose()
        return ExecutionOutcome(data=None, errors=errors, operation_type=operation_type)
    return IncrementalOutcome(data=data, errors=errors, operation_type=operation_type, subsequent=run.subsequent())
