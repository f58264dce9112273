"""Shape the merged subgraph data into the client's response.

Walks the normalised operation over the raw data: field order and aliases follow
the operation, helper fields (keys, requires, __typename the client did not ask
for) disappear, @skip/@include are applied, enum values unknown to the API
schema are nulled, and nulls in non-null positions propagate per the spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    is_abstract_type,
    is_leaf_type,
)

from gateway.planner.operation import NormalizedOperation, OpField, OpSelection, conditions_hold
from gateway.supergraph.parser import HIDDEN_ENUM_VALUES

_BUBBLE = object()  # "this position must become null" (a non-null field was null)

# How a collected field is completed; leaves that need no checks are copied as they are.
_TYPENAME, _INTROSPECTION, _SCALAR, _SCALAR_NON_NULL, _OTHER = range(5)

# (response name, completion kind, field type, merged sub-selections)
_Collected = list[tuple[str, int, Any, list[OpSelection]]]

# Paths are built lazily as (parent, key) links: only an error needs the list form.
_Path = tuple[Any, Any] | None


def _path_list(path: _Path, key: Any) -> list[Any]:
    out = [key]
    while path is not None:
        path, k = path
        out.append(k)
    out.reverse()
    return out


@dataclass(slots=True)
class ShapeCache:
    """Field collections of one operation that no variable decides, shared by its executions.

    Keys are ids of selection lists; only lists that live as long as this cache (the
    operation's own, or ones held by a cached entry) are ever used as keys, so an id is
    never reused for another list while cached."""

    collected: dict[tuple[int, str], _Collected] = field(default_factory=dict)
    stable: set[int] = field(default_factory=set)


class ResponseFormatter:
    """Formats one response (construct per execution; holds per-request caches only)."""

    def __init__(self, schema: GraphQLSchema, variables: Mapping[str, Any], errors: list[dict[str, Any]],
                 shared: ShapeCache | None = None) -> None:
        self.schema = schema
        self.variables = variables
        self.errors = errors
        self._had_errors = bool(errors)
        self._cache: dict[tuple[int, str], _Collected] = {}
        # Collections that no @skip/@include decides are the same for every request of the
        # operation: the caller may keep them with the plan and pass them in again.
        self._shared = shared if shared is not None else ShapeCache()

    def format(self, op: NormalizedOperation, data: Mapping[str, Any],
               introspection: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """The ``data`` member of the response."""
        root = {
            "query": self.schema.query_type,
            "mutation": self.schema.mutation_type,
            "subscription": self.schema.subscription_type,
        }[op.kind]
        assert root is not None
        self._shared.stable.add(id(op.selections))
        result = self._object(root, op.selections, data, None, introspection or {})
        if result is _BUBBLE:
            return None
        return result  # type: ignore[return-value]

    def _collect(self, type_: GraphQLObjectType, sels: list[OpSelection]) -> _Collected:
        key = (id(sels), type_.name)
        stable = key[0] in self._shared.stable
        hit = self._shared.collected.get(key) if stable else self._cache.get(key)
        if hit is not None:
            return hit
        order: dict[str, tuple[OpField, list[OpSelection]]] = {}
        conditional = self._collect_into(type_, sels, order)
        out: _Collected = []
        for rn, (f, subs) in order.items():
            if f.name == "__typename":
                out.append((rn, _TYPENAME, None, subs))
                continue
            if f.name in ("__schema", "__type"):
                out.append((rn, _INTROSPECTION, None, subs))
                continue
            fdef = type_.fields.get(f.name)
            if fdef is None:
                continue
            t = fdef.type
            inner = t.of_type if isinstance(t, GraphQLNonNull) else t
            if is_leaf_type(inner) and not isinstance(inner, GraphQLEnumType):
                out.append((rn, _SCALAR_NON_NULL if inner is not t else _SCALAR, t, subs))
            else:
                out.append((rn, _OTHER, t, subs))
        if stable and not conditional:
            self._shared.collected[key] = out
            # the merged sub-selections now live as long as the cache: their ids are keys too
            self._shared.stable.update(id(subs) for _rn, _k, _t, subs in out)
        else:
            self._cache[key] = out
        return out

    def _collect_into(self, type_: GraphQLObjectType, sels: list[OpSelection],
                      order: dict[str, tuple[OpField, list[OpSelection]]]) -> bool:
        """Collect fields in document order; True when a condition took part (variable-dependent)."""
        conditional = False
        for s in sels:
            if s.conditions:
                conditional = True
                if not conditions_hold(s.conditions, self.variables):
                    continue
            if isinstance(s, OpField):
                entry = order.get(s.response_name)
                if entry is None:
                    order[s.response_name] = (s, list(s.selections or ()))
                elif s.selections:
                    entry[1].extend(s.selections)
            else:
                cond = s.type_condition
                if cond is not None and cond != type_.name:
                    t = self.schema.get_type(cond)
                    if t is None or not is_abstract_type(t) or not self.schema.is_sub_type(t, type_):  # type: ignore[arg-type]
                        continue
                conditional = self._collect_into(type_, s.selections, order) or conditional
        return conditional

    def _object(self, type_: GraphQLObjectType | GraphQLInterfaceType, sels: list[OpSelection],
                raw: Mapping[str, Any], path: _Path, introspection: Mapping[str, Any] | None = None) -> Any:
        out: dict[str, Any] = {}
        for rn, kind, t, subs in self._collect(type_, sels):  # type: ignore[arg-type]
            if kind == _SCALAR:
                out[rn] = raw.get(rn)
            elif kind == _SCALAR_NON_NULL:
                v = raw.get(rn)
                if v is None:
                    self._null_error(path, rn)
                    return _BUBBLE
                out[rn] = v
            elif kind == _TYPENAME:
                out[rn] = type_.name
            elif kind == _INTROSPECTION:
                out[rn] = introspection.get(rn) if introspection is not None else None
            else:
                value = self._value(t, raw.get(rn), subs, path, rn)
                if value is _BUBBLE:
                    return _BUBBLE
                out[rn] = value
        return out

    def _value(self, type_: GraphQLOutputType, value: Any, sels: list[OpSelection], path: _Path,
               key: Any) -> Any:
        if isinstance(type_, GraphQLNonNull):
            r = self._value(type_.of_type, value, sels, path, key)
            if r is None or r is _BUBBLE:
                if r is None:
                    self._null_error(path, key)
                return _BUBBLE
            return r
        if value is None:
            return None
        if isinstance(type_, GraphQLList):
            if not isinstance(value, list):
                return None
            sub_path = (path, key)
            items = []
            item_type = type_.of_type
            for i, item in enumerate(value):
                r = self._value(item_type, item, sels, sub_path, i)
                if r is _BUBBLE:
                    return None
                items.append(r)
            return items
        if is_leaf_type(type_):
            if isinstance(type_, GraphQLEnumType) and (not isinstance(value, str) or value not in type_.values):
                if isinstance(value, str) and value in (type_.extensions or {}).get(HIDDEN_ENUM_VALUES, ()):
                    return None  # an @inaccessible value: hidden, so no error names it
                self.errors.append({
                    "message": f"Enum '{type_.name}' cannot represent value: {value!r}",
                    "path": _path_list(path, key),
                    "extensions": {"code": "SUBGRAPH_INVALID_RESPONSE"},
                })
                return None
            return value
        if not isinstance(value, dict):
            return None
        if isinstance(type_, GraphQLObjectType):
            r = self._object(type_, sels, value, (path, key))
        else:
            tn = value.get("__typename")
            t = self.schema.get_type(tn) if isinstance(tn, str) else None
            if isinstance(t, GraphQLInterfaceType) and (t is type_ or self.schema.is_sub_type(type_, t)):  # type: ignore[arg-type]
                # an @interfaceObject answered and the concrete type was never needed: shape
                # against the interface (the planner fetched the real type when it mattered)
                r = self._object(t, sels, value, (path, key))
                return None if r is _BUBBLE else r
            if not isinstance(t, GraphQLObjectType) or not self.schema.is_sub_type(type_, t):  # type: ignore[arg-type]
                return None
            r = self._object(t, sels, value, (path, key))
        return None if r is _BUBBLE else r

    def _null_error(self, path: _Path, key: Any) -> None:
        # a subgraph failure already explains the hole; only report unexplained nulls
        if self._had_errors or self.errors:
            return
        self.errors.append(
            {
                "message": "Cannot return null for non-nullable field.",
                "path": _path_list(path, key),
                "extensions": {"code": "SUBGRAPH_RETURNED_NULL"},  # every error a client sees has a code
            }
        )
