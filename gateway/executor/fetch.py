"""Running a plan: the run loop, subgraph requests and error re-pathing.

The executor makes no planning decisions: it follows the tree, sends each fetch
once (one ``_entities`` request per fetch node and batch, built by
:mod:`gateway.executor.batching` from the objects :mod:`gateway.executor.paths` finds)
and merges answers into one raw data tree (:mod:`gateway.executor.merging`). The
response formatter then shapes that tree into the client's response.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.contracts import SubgraphTransport
from gateway.executor.batching import Batch, entity_batches
from gateway.executor.merging import merge
from gateway.planner.nodes import (
    FetchNode,
    FieldItem,
    FlattenNode,
    ParallelNode,
    PlanNode,
    SelSet,
    SequenceNode,
    restore_names,
)
from gateway.planner.operation import conditions_hold

__all__ = ["DOWNSTREAM_SERVICE_ERROR", "SUBGRAPH_FETCH_FAILED", "FetchContext", "merge", "run_plan"]

SUBGRAPH_FETCH_FAILED = "SUBGRAPH_FETCH_FAILED"
DOWNSTREAM_SERVICE_ERROR = "DOWNSTREAM_SERVICE_ERROR"

logger = logging.getLogger("gateway.executor")


@dataclass(slots=True)
class FetchContext:
    """Everything one plan execution needs; one per operation (or subscription event)."""

    transport: SubgraphTransport
    headers: Mapping[str, str]
    urls: Mapping[str, str]
    variables: Mapping[str, Any]
    object_types: frozenset[str]
    possible: Mapping[str, frozenset[str]]  # abstract type -> object types (for requires fragments)
    data: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)


async def run_plan(node: PlanNode | None, ctx: FetchContext) -> None:
    """Execute ``node`` into ``ctx.data`` / ``ctx.errors``."""
    if node is None:
        return
    if isinstance(node, SequenceNode):
        for child in node.nodes:
            await run_plan(child, ctx)
    elif isinstance(node, ParallelNode):
        await asyncio.gather(*(run_plan(child, ctx) for child in node.nodes))
    elif isinstance(node, FlattenNode):
        if node.node.conditions and not conditions_hold(node.node.conditions, ctx.variables):
            return  # everything it would fetch is skipped by @skip/@include
        await _guarded(_entity_fetch(node, ctx), node.node, ctx)
    else:
        if node.conditions and not conditions_hold(node.conditions, ctx.variables):
            return  # every root field it would fetch is skipped by @skip/@include
        await _guarded(_root_fetch(node, ctx), node, ctx)


async def _guarded(step: Any, fetch: FetchNode, ctx: FetchContext) -> None:
    """Run one fetch step; an unexpected failure costs that fetch's data, not the response."""
    try:
        await step
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        logger.exception("fetch from %s failed unexpectedly", fetch.subgraph)
        ctx.errors.append(
            {
                "message": f"Fetch from '{fetch.subgraph}' failed: {type(exc).__name__}",
                "extensions": {"code": SUBGRAPH_FETCH_FAILED, "serviceName": fetch.subgraph},
            }
        )


def _variables(fetch: FetchNode, ctx: FetchContext) -> dict[str, Any]:
    v = ctx.variables
    return {name: v[name] for name in fetch.variable_usages if name in v}


_Failed = tuple[str, str | None]  # (message, the transport's own code: an open circuit)


async def _send(fetch: FetchNode, payload: dict[str, Any], ctx: FetchContext) -> tuple[Any, list[Any], _Failed | None]:
    """Send one request; returns (data, errors, failure)."""
    url = ctx.urls.get(fetch.subgraph, "")
    try:
        resp = await ctx.transport.fetch(fetch.subgraph, url, payload, ctx.headers)
    except Exception as exc:  # a transport must not take the whole operation down
        return None, [], (f"{type(exc).__name__}: {exc}", None)
    if resp.error is not None:
        return None, [], (resp.error, getattr(resp, "code", None))
    body = resp.body
    if not isinstance(body, dict):
        return None, [], (f"invalid response (HTTP {resp.status})", None)
    errors = body.get("errors") or []
    if not isinstance(errors, list):
        errors = []
    data = body.get("data")
    if data is None and not errors and resp.status >= 400:
        return None, [], (f"HTTP {resp.status}", None)
    return data, errors, None


def _failure(fetch: FetchNode, failed: _Failed, path: list[Any] | None) -> dict[str, Any]:
    message, code = failed
    if code:  # the transport's own code: the request was never sent (an open circuit)
        err: dict[str, Any] = {
            "message": f"Subgraph '{fetch.subgraph}' is unavailable: {message}",
            "extensions": {"code": code, "serviceName": fetch.subgraph},
        }
    else:
        err = {
            "message": f"HTTP fetch failed from '{fetch.subgraph}': {message}",
            "extensions": {"code": SUBGRAPH_FETCH_FAILED, "serviceName": fetch.subgraph},
        }
    if path is not None:
        err["path"] = path
    return err


def _find_field(selset: SelSet, key: str) -> FieldItem | None:
    for item in selset.items.values():
        if isinstance(item, FieldItem):
            if item.response_name == key:
                return item
        else:
            found = _find_field(item.sub, key)
            if found is not None:
                return found
    return None


def _unalias(path: list[Any], selset: SelSet | None) -> list[Any]:
    """A subgraph error path with the gateway's internal aliases turned back into client names."""
    out: list[Any] = []
    for seg in path:
        if isinstance(seg, str) and selset is not None:
            item = _find_field(selset, seg)
            if item is not None:
                out.append(item.restore or seg)
                selset = item.sub
                continue
        out.append(seg)
    return out


def _downstream(fetch: FetchNode, err: Any, path: list[Any] | None) -> dict[str, Any]:
    if not isinstance(err, dict):
        err = {"message": str(err)}
    out: dict[str, Any] = {"message": err.get("message", "Unknown subgraph error")}
    if path is not None:
        out["path"] = path
    ext = dict(err.get("extensions") or {})
    ext.setdefault("code", DOWNSTREAM_SERVICE_ERROR)
    ext.setdefault("serviceName", fetch.subgraph)
    out["extensions"] = ext
    return out


async def _root_fetch(fetch: FetchNode, ctx: FetchContext) -> None:
    payload: dict[str, Any] = {"query": fetch.operation}
    variables = _variables(fetch, ctx)
    if variables:
        payload["variables"] = variables
    data, errors, failure = await _send(fetch, payload, ctx)
    if failure is not None:
        for name in fetch.root_fields or ("",):
            ctx.errors.append(_failure(fetch, failure, [name] if name else None))
        return
    for err in errors:
        path = err.get("path") if isinstance(err, dict) else None
        client = _unalias(path, fetch.selection) if isinstance(path, list) and fetch.renamed else path
        ctx.errors.append(_downstream(fetch, err, list(client) if isinstance(client, list) else None))
    if isinstance(data, dict):
        if fetch.renamed:
            restore_names(data, fetch.selection)
        merge(ctx.data, data, ctx.object_types)


async def _entity_fetch(flatten: FlattenNode, ctx: FetchContext) -> None:
    fetch = flatten.node
    batches = entity_batches(ctx.data, flatten.path, fetch, ctx.possible)
    if len(batches) == 1:
        await _send_batch(fetch, batches[0], ctx)
    elif batches:
        await asyncio.gather(*(_send_batch(fetch, b, ctx) for b in batches))


async def _send_batch(fetch: FetchNode, batch: Batch, ctx: FetchContext) -> None:
    reps, owners = batch.reps, batch.owners
    variables = _variables(fetch, ctx)
    variables.update(batch.context)
    variables["representations"] = reps
    data, errors, failure = await _send(fetch, {"query": fetch.operation, "variables": variables}, ctx)
    if failure is not None:
        ctx.errors.append(_failure(fetch, failure, batch.path(0) if owners else None))
        return
    for err in errors:
        epath = err.get("path") if isinstance(err, dict) else None
        client_path: list[Any] | None = None
        if isinstance(epath, list) and len(epath) >= 2 and epath[0] == "_entities" and isinstance(epath[1], int):
            if 0 <= epath[1] < len(owners):
                rest = _unalias(epath[2:], fetch.selection) if fetch.renamed else epath[2:]
                client_path = [*batch.path(epath[1]), *rest]
        ctx.errors.append(_downstream(fetch, err, client_path))
    entities = data.get("_entities") if isinstance(data, dict) else None
    if not isinstance(entities, list):
        return
    types = ctx.object_types
    for i, entity in enumerate(entities[: len(owners)]):
        if not isinstance(entity, dict):
            continue
        if fetch.renamed:
            restore_names(entity, fetch.selection)
        for obj in owners[i]:
            merge(obj, entity, types)
