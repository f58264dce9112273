"""Running a plan: subgraph fetches, entity representations, merging, error re-pathing.

The executor makes no planning decisions: it follows the tree, sends each fetch
once (one ``_entities`` request per fetch node with de-duplicated
representations) and merges answers into one raw data tree. The response
formatter then shapes that tree into the client's response.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.contracts import SubgraphTransport
from gateway.planner.nodes import (
    TYPE_FILTER,
    FetchNode,
    FieldItem,
    FlattenNode,
    ParallelNode,
    PlanNode,
    Representation,
    SelSet,
    SequenceNode,
    restore_names,
)
from gateway.planner.operation import conditions_hold

SUBGRAPH_FETCH_FAILED = "SUBGRAPH_FETCH_FAILED"
DOWNSTREAM_SERVICE_ERROR = "DOWNSTREAM_SERVICE_ERROR"

_MISSING = object()

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
        ctx.errors.append({
            "message": f"Fetch from '{fetch.subgraph}' failed: {type(exc).__name__}",
            "extensions": {"code": SUBGRAPH_FETCH_FAILED, "serviceName": fetch.subgraph},
        })


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


_NO_POSSIBLE: Mapping[str, frozenset[str]] = {}

# Paths of found objects are (parent, key) links; only error re-pathing needs the list form.
_Link = tuple[Any, Any] | None


def _link_list(link: _Link) -> list[Any]:
    out: list[Any] = []
    while link is not None:
        link, key = link
        out.append(key)
    out.reverse()
    return out


def _collect(value: Any, path: tuple[str, ...], i: int, cur: _Link,
             out: list[tuple[dict[str, Any], _Link]], anc: Any = None, ancestors: list[Any] | None = None,
             possible: Mapping[str, frozenset[str]] = _NO_POSSIBLE) -> None:
    """Find the objects at ``path``; with ``ancestors``, also the chain of objects above each
    (a (parent-chain, object) link, the object itself first) for @fromContext values."""
    if value is None:
        return
    if i == len(path):
        if isinstance(value, dict):
            out.append((value, cur))
            if ancestors is not None:
                ancestors.append((anc, value))
        elif isinstance(value, list):  # a list the path did not spell out: walk it anyway
            for n, item in enumerate(value):
                _collect(item, path, i, (cur, n), out, anc, ancestors, possible)
        return
    seg = path[i]
    if seg[:1] == TYPE_FILTER:
        # only objects of that type (or whose concrete type is not known yet) go on
        if isinstance(value, dict):
            tn = value.get("__typename")
            if tn is None or tn == seg[1:] or seg[1:] in possible.get(tn, ()):
                _collect(value, path, i + 1, cur, out, anc, ancestors, possible)
        elif isinstance(value, list):
            for n, item in enumerate(value):
                _collect(item, path, i, (cur, n), out, anc, ancestors, possible)
        return
    if seg == "@":
        if isinstance(value, list):
            for n, item in enumerate(value):
                _collect(item, path, i + 1, (cur, n), out, anc, ancestors, possible)
        return
    if isinstance(value, dict):
        child = value.get(seg)
        if child is not None:
            _collect(child, path, i + 1, (cur, seg), out, (anc, value) if ancestors is not None else None,
                     ancestors, possible)


_SAME = object()  # a level entry that adds no path segment (a type filter keeps its object)


class _Found:
    """The objects at a flatten path, with what it takes to spell out any one's path.

    Paths are only needed for errors, so instead of a (parent, key) link per object per
    level, each level keeps two flat lists (parent index, key) and :meth:`path` walks
    them back on demand.
    """

    __slots__ = ("levels", "objects", "positions")

    def __init__(self, levels: list[tuple[list[int], list[Any]]], objects: list[dict[str, Any]],
                 positions: list[int]) -> None:
        self.levels = levels
        self.objects = objects
        self.positions = positions  # index of each object in the last level

    def path(self, n: int) -> list[Any]:
        """The response path of the ``n``-th object."""
        out: list[Any] = []
        j = self.positions[n]
        for parents, keys in reversed(self.levels):
            key = keys[j]
            if key is not _SAME:
                out.append(key)
            j = parents[j]
        out.reverse()
        return out


def _find(data: Any, path: tuple[str, ...], possible: Mapping[str, frozenset[str]]) -> _Found | None:
    """What :func:`_collect` finds without ancestors, walked one path segment at a time.

    The recursive walk costs a call and a link per object per segment; a flatten path
    under a few lists reaches hundreds of objects, so this loops over each level instead.
    Levels keep document order (every value of a level expands in place), so the objects
    come out in the order the recursive walk finds them. None when a list stands where the
    path does not say "@" (the recursive walk expands those in place; plans do not make them).
    """
    values: list[Any] = [data] if data is not None else []
    levels: list[tuple[list[int], list[Any]]] = []
    for seg in path:
        nxt: list[Any] = []
        parents: list[int] = []
        keys: list[Any] = []
        add, add_parent, add_key = nxt.append, parents.append, keys.append
        if seg[:1] == TYPE_FILTER:
            typename = seg[1:]
            for j, value in enumerate(values):
                if isinstance(value, dict):
                    tn = value.get("__typename")
                    if tn is None or tn == typename or typename in possible.get(tn, ()):
                        add(value)
                        add_parent(j)
                        add_key(_SAME)
                elif isinstance(value, list):
                    return None
        elif seg == "@":
            for j, value in enumerate(values):
                if isinstance(value, list):
                    for n, item in enumerate(value):
                        if item is not None:  # a null is a dead end at any later step
                            add(item)
                            add_parent(j)
                            add_key(n)
        else:
            for j, value in enumerate(values):
                if isinstance(value, dict):
                    child = value.get(seg)
                    if child is not None:
                        add(child)
                        add_parent(j)
                        add_key(seg)
        levels.append((parents, keys))
        values = nxt
    objects: list[dict[str, Any]] = []
    positions: list[int] = []
    for j, value in enumerate(values):
        if isinstance(value, dict):
            objects.append(value)
            positions.append(j)
        elif isinstance(value, list):
            return None
    if not levels:  # an empty path: the root object itself
        levels.append(([0], [_SAME]))
    return _Found(levels, objects, positions)


def _project(obj: Any, sel: SelSet, ctx: FetchContext, out: dict[str, Any], top: bool = True) -> bool:
    """Copy the fields of ``sel`` from ``obj`` into ``out``.

    False when a top-level field is missing (an earlier fetch failed or found nothing:
    there is nothing to ask); deeper holes are left out of the representation.
    """
    return _copy(obj, sel.compiled(), ctx.possible, out, top)


def _copy(obj: dict[str, Any], recipe: tuple[tuple[Any, ...], ...], possible: Mapping[str, frozenset[str]],
          out: dict[str, Any], top: bool) -> bool:
    for is_field, a, b, sub in recipe:
        if is_field:
            value = obj.get(a, _MISSING)
            if value is _MISSING:
                if top:
                    return False
                continue
            if sub is not None and value is not None:
                value = _copy_value(value, sub, possible)
            out[b] = value
        else:
            tn = obj.get("__typename")
            if (a is None or a == tn or tn in possible.get(a, ())) and not _copy(obj, sub, possible, out, top):
                return False
    return True


def _copy_value(value: Any, recipe: tuple[tuple[Any, ...], ...], possible: Mapping[str, frozenset[str]]) -> Any:
    if isinstance(value, list):
        return [_copy_value(v, recipe, possible) if v is not None else None for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    if "__typename" in value:
        out["__typename"] = value["__typename"]
    _copy(value, recipe, possible, out, False)
    return out


def _representation(obj: dict[str, Any], rep: Representation, ctx: FetchContext) -> dict[str, Any] | None:
    out: dict[str, Any] = {"__typename": rep.typename}
    if not _project(obj, rep.selection, ctx, out):
        return None
    return out


async def _entity_fetch(flatten: FlattenNode, ctx: FetchContext) -> None:
    fetch = flatten.node
    requires = fetch.requires or {}
    if not fetch.context:
        flat = _find(ctx.data, flatten.path, ctx.possible)
        if flat is not None:
            batch = _single_batch(flat, requires, ctx.possible)
            if batch.reps:
                await _send_batch(fetch, batch, ctx)
            return
    found: list[tuple[dict[str, Any], _Link]] = []
    ancestors: list[Any] | None = [] if fetch.context else None
    _collect(ctx.data, flatten.path, 0, None, found, None, ancestors, ctx.possible)
    # one request per distinct set of @fromContext values (usually exactly one)
    batches: dict[bytes, _Batch] = {}
    for n, (obj, path) in enumerate(found):
        rep_spec = requires.get(obj.get("__typename"))  # type: ignore[arg-type]
        if rep_spec is None:
            continue
        rep = _representation(obj, rep_spec, ctx)
        if rep is None:
            continue  # an earlier fetch failed or returned null for this object: nothing to ask
        context_values = _context_values(fetch, ancestors[n], ctx) if ancestors is not None else {}
        batch_key = orjson.dumps(context_values) if context_values else b""
        found_batch = batches.get(batch_key)
        if found_batch is None:
            found_batch = batches[batch_key] = _Batch(context_values)
        found_batch.add(rep, obj, path)
    if not batches:
        return
    if len(batches) == 1:
        await _send_batch(fetch, next(iter(batches.values())), ctx)
    else:
        await asyncio.gather(*(_send_batch(fetch, b, ctx) for b in batches.values()))


def _single_batch(found: _Found, requires: Mapping[str, Representation],
                  possible: Mapping[str, frozenset[str]]) -> _Batch:
    """The one batch of a fetch without @fromContext: what ``_representation`` and
    ``_Batch.add`` do per object, inlined, because this loop runs once per object found."""
    batch = _Batch({}, found.path)
    reps, owners, firsts, index = batch.reps, batch.owners, batch.firsts, batch.index
    dumps = orjson.dumps
    for n, obj in enumerate(found.objects):
        spec = requires.get(obj.get("__typename"))  # type: ignore[arg-type]
        if spec is None:
            continue
        rep: dict[str, Any] = {"__typename": spec.typename}
        if not _copy(obj, spec.selection.compiled(), possible, rep, True):
            continue  # an earlier fetch failed or returned null for this object: nothing to ask
        key = dumps(rep)
        i = index.get(key)
        if i is None:
            index[key] = len(reps)
            reps.append(rep)
            owners.append([obj])
            firsts.append(n)
        else:
            owners[i].append(obj)
    return batch


class _Batch:
    """De-duplicated representations of one ``_entities`` request and the objects they stand for.

    Only the first object of each representation ever needs its path (for errors), so
    each keeps a token for it, which ``path_of`` turns into the path when asked.
    """

    __slots__ = ("context", "firsts", "index", "owners", "path_of", "reps")

    def __init__(self, context: dict[str, Any], path_of: Callable[[Any], list[Any]] = _link_list) -> None:
        self.context = context
        self.path_of = path_of
        self.reps: list[dict[str, Any]] = []
        self.owners: list[list[dict[str, Any]]] = []
        self.firsts: list[Any] = []
        self.index: dict[bytes, int] = {}

    def add(self, rep: dict[str, Any], obj: dict[str, Any], path: _Link) -> None:
        key = orjson.dumps(rep)
        i = self.index.get(key)
        if i is None:
            i = self.index[key] = len(self.reps)
            self.reps.append(rep)
            self.owners.append([])
            self.firsts.append(path)
        self.owners[i].append(obj)

    def path(self, i: int) -> list[Any]:
        """The response path of the first object the ``i``-th representation stands for."""
        return self.path_of(self.firsts[i])


def _context_values(fetch: FetchNode, chain: Any, ctx: FetchContext) -> dict[str, Any]:
    """The @fromContext variable values for one object, read from its nearest matching ancestor."""
    out: dict[str, Any] = {}
    for var in fetch.context:
        link = chain[0] if chain is not None else None  # skip the object itself
        value = None
        while link is not None:
            link, anc = link
            if isinstance(anc, dict) and anc.get("__typename") in var.types:
                picked: dict[str, Any] = {}
                _project(anc, var.selection, ctx, picked, top=False)
                picked.pop("__typename", None)
                value = next(iter(picked.values()), None)
                break
        out[var.name] = value
    return out


async def _send_batch(fetch: FetchNode, batch: _Batch, ctx: FetchContext) -> None:
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


def merge(target: dict[str, Any], source: dict[str, Any], object_types: frozenset[str]) -> None:
    """Deep-merge a subgraph answer into the data tree.

    ``__typename`` is only replaced when the known one is not a concrete type
    (an @interfaceObject answers with its interface's name).
    """
    for key, value in source.items():
        existing = target.get(key, _MISSING)
        if existing is value:
            continue  # the same object reached twice (entities shared by several owners): nothing to add
        if existing is _MISSING or existing is None:
            target[key] = value
        elif key == "__typename":
            if existing not in object_types and value in object_types:
                target[key] = value
        elif isinstance(existing, dict) and isinstance(value, dict):
            merge(existing, value, object_types)
        elif isinstance(existing, list) and isinstance(value, list) and len(existing) == len(value):
            _merge_lists(existing, value, object_types)
        elif value is not None:
            target[key] = value


def _merge_lists(target: list[Any], source: list[Any], object_types: frozenset[str]) -> None:
    for i, value in enumerate(source):
        existing = target[i]
        if isinstance(existing, dict) and isinstance(value, dict):
            merge(existing, value, object_types)
        elif isinstance(existing, list) and isinstance(value, list) and len(existing) == len(value):
            _merge_lists(existing, value, object_types)
        elif existing is None:
            target[i] = value
