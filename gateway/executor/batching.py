"""Batching: the de-duplicated ``_entities`` representations of a flatten fetch, per @fromContext values.

Each object found at a flatten path whose type the fetch accepts becomes a representation
(its key and @requires fields, copied from the data tree); objects with equal
representations share one entry, and every object it stands for receives the answer.

Two ways build the batches; keep them equal (tests/gateway_core/test_batching.py):

- the reference, :func:`batches_by_context`: :func:`~gateway.executor.paths.walk_recursive`
  with ancestors, then :func:`representation` and :meth:`Batch.add` per object, one batch
  per distinct set of @fromContext values;
- the measured fast path, :func:`single_batch`: for a fetch without @fromContext, over
  :func:`~gateway.executor.paths.walk_levels`, the same per-object work inlined in one loop.

:func:`entity_batches` picks between them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from gateway.executor.merging import MISSING
from gateway.executor.paths import FoundObjects, Link, link_path, walk_levels, walk_recursive
from gateway.planner.nodes import FetchNode, Representation, SelSet

Recipe = tuple[tuple[Any, ...], ...]
"""A selection compiled by :meth:`SelSet.compiled`: ``(is_field, a, b, sub)`` per entry."""


def copy_selection(
    obj: dict[str, Any], recipe: Recipe, possible: Mapping[str, frozenset[str]], out: dict[str, Any], top: bool
) -> bool:
    """Copy the fields of a compiled selection from ``obj`` into ``out``.

    False when ``top`` and a top-level field is missing (an earlier fetch failed or found
    nothing: there is nothing to ask); deeper holes are left out.
    """
    for is_field, a, b, sub in recipe:
        if is_field:
            value = obj.get(a, MISSING)
            if value is MISSING:
                if top:
                    return False
                continue
            if sub is not None and value is not None:
                value = _copy_value(value, sub, possible)
            out[b] = value
        else:
            tn = obj.get("__typename")
            if (a is None or a == tn or tn in possible.get(a, ())) and not copy_selection(obj, sub, possible, out, top):
                return False
    return True


def _copy_value(value: Any, recipe: Recipe, possible: Mapping[str, frozenset[str]]) -> Any:
    if isinstance(value, list):
        return [_copy_value(v, recipe, possible) if v is not None else None for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    if "__typename" in value:
        out["__typename"] = value["__typename"]
    copy_selection(value, recipe, possible, out, False)
    return out


def project(
    obj: dict[str, Any], sel: SelSet, possible: Mapping[str, frozenset[str]], out: dict[str, Any], top: bool = True
) -> bool:
    """Copy the fields of ``sel`` from ``obj`` into ``out`` (see :func:`copy_selection`)."""
    return copy_selection(obj, sel.compiled(), possible, out, top)


def representation(
    obj: dict[str, Any], rep: Representation, possible: Mapping[str, frozenset[str]]
) -> dict[str, Any] | None:
    """Reference: the representation of one object, or None when its key is not in the tree."""
    out: dict[str, Any] = {"__typename": rep.typename}
    if not project(obj, rep.selection, possible, out):
        return None
    return out


class Batch:
    """De-duplicated representations of one ``_entities`` request and the objects they stand for.

    Only the first object of each representation ever needs its path (for errors), so
    each keeps a token for it, which ``path_of`` turns into the path when asked.
    """

    __slots__ = ("context", "firsts", "index", "owners", "path_of", "reps")

    def __init__(self, context: dict[str, Any], path_of: Callable[[Any], list[Any]] = link_path) -> None:
        self.context = context  # the @fromContext variable values of this request
        self.path_of = path_of
        self.reps: list[dict[str, Any]] = []
        self.owners: list[list[dict[str, Any]]] = []
        self.firsts: list[Any] = []
        self.index: dict[bytes, int] = {}

    def add(self, rep: dict[str, Any], obj: dict[str, Any], path: Link) -> None:
        """Reference: add one object's representation (``single_batch`` inlines this)."""
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


def single_batch(
    found: FoundObjects, requires: Mapping[str, Representation], possible: Mapping[str, frozenset[str]]
) -> Batch:
    """Fast path: the one batch of a fetch without @fromContext; what :func:`representation`
    and :meth:`Batch.add` do per object, inlined, because this loop runs once per object found."""
    batch = Batch({}, found.path)
    reps, owners, firsts, index = batch.reps, batch.owners, batch.firsts, batch.index
    dumps = orjson.dumps
    for n, obj in enumerate(found.objects):
        spec = requires.get(obj.get("__typename"))  # type: ignore[arg-type]
        if spec is None:
            continue
        rep: dict[str, Any] = {"__typename": spec.typename}
        if not copy_selection(obj, spec.selection.compiled(), possible, rep, True):
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


def context_values(fetch: FetchNode, chain: Any, possible: Mapping[str, frozenset[str]]) -> dict[str, Any]:
    """The @fromContext variable values for one object, read from its nearest matching ancestor."""
    out: dict[str, Any] = {}
    for var in fetch.context:
        link = chain[0] if chain is not None else None  # skip the object itself
        value = None
        while link is not None:
            link, anc = link
            if isinstance(anc, dict) and anc.get("__typename") in var.types:
                picked: dict[str, Any] = {}
                project(anc, var.selection, possible, picked, top=False)
                picked.pop("__typename", None)
                value = next(iter(picked.values()), None)
                break
        out[var.name] = value
    return out


def batches_by_context(
    data: Any, path: tuple[str, ...], fetch: FetchNode, possible: Mapping[str, frozenset[str]]
) -> list[Batch]:
    """Reference: one batch per distinct set of @fromContext values (usually exactly one)."""
    requires = fetch.requires or {}
    found: list[tuple[dict[str, Any], Link]] = []
    ancestors: list[Any] | None = [] if fetch.context else None
    walk_recursive(data, path, 0, None, found, None, ancestors, possible)
    batches: dict[bytes, Batch] = {}
    for n, (obj, link) in enumerate(found):
        spec = requires.get(obj.get("__typename"))  # type: ignore[arg-type]
        if spec is None:
            continue
        rep = representation(obj, spec, possible)
        if rep is None:
            continue  # an earlier fetch failed or returned null for this object: nothing to ask
        values = context_values(fetch, ancestors[n], possible) if ancestors is not None else {}
        batch_key = orjson.dumps(values) if values else b""
        batch = batches.get(batch_key)
        if batch is None:
            batch = batches[batch_key] = Batch(values)
        batch.add(rep, obj, link)
    return list(batches.values())


def entity_batches(
    data: Any, path: tuple[str, ...], fetch: FetchNode, possible: Mapping[str, frozenset[str]]
) -> list[Batch]:
    """The non-empty batches of one flatten fetch: the fast path when it applies, else the reference."""
    if not fetch.context:
        found = walk_levels(data, path, possible)
        if found is not None:
            batch = single_batch(found, fetch.requires or {}, possible)
            return [batch] if batch.reps else []
    return batches_by_context(data, path, fetch, possible)
