"""Data for any supergraph: every subgraph answers from one deterministic function of object ids.

For differential fuzzing over supergraphs whose subgraphs have no hand-written resolvers. Each
object is a dict with ``__typename`` and a hidden ``_oid`` (its path from the root, with
arguments); every field's value is a function of the object's ``_oid``, the field name and its
arguments, so a field two subgraphs share answers the same in both, and an entity reached in one
subgraph has the same fields in every other. Lists have two items; a nullable field is null now
and then; an abstract type resolves to one of its API possible types (the first this subgraph
knows when it does not know that one).

Entities: when any subgraph produces an object of an entity type, the values of every key
(of every subgraph) are computed and registered; ``_entities`` finds the object again by the key
fields of a representation (other fields, such as @requires inputs, are ignored).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    SelectionSetNode,
    get_named_type,
    parse,
)
from graphql.language import StringValueNode

from .harness import FIXTURES, Scenario, SubgraphServer, executable_schema


def _h(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _key_selection(fields: str) -> SelectionSetNode:
    op = parse("{" + fields + "}")
    return op.definitions[0].selection_set  # type: ignore[attr-defined,no-any-return]


@dataclass
class AutoData:
    """The shared data of one supergraph's subgraphs (see the module docstring)."""

    api: GraphQLSchema
    keys: dict[str, list[SelectionSetNode]] = field(default_factory=dict)  # type -> key selections
    registry: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # (type, key) -> (oid, type)

    def add_keys(self, sdl: str) -> None:
        """Record the @key field sets one subgraph declares."""
        for d in parse(sdl).definitions:
            name = getattr(getattr(d, "name", None), "value", None)
            for app in getattr(d, "directives", None) or ():
                if app.name.value != "key":
                    continue
                for arg in app.arguments or ():
                    if arg.name.value == "fields" and isinstance(arg.value, StringValueNode) and name:
                        sel = _key_selection(arg.value.value)
                        self.keys.setdefault(name, []).append(sel)

    # -- values --------------------------------------------------------------------------------------

    def value(self, t: GraphQLOutputType, oid: str, schema: GraphQLSchema, non_null: bool = False) -> Any:
        if isinstance(t, GraphQLNonNull):
            return self.value(t.of_type, oid, schema, True)
        if not non_null and _h(oid + "#null") % 9 == 0:
            return None
        if isinstance(t, GraphQLList):
            return [self.value(t.of_type, f"{oid}[{i}]", schema) for i in range(2)]
        named = get_named_type(t)
        if isinstance(named, GraphQLScalarType):
            return _scalar(named.name, oid)
        if isinstance(named, GraphQLEnumType):
            values = sorted(named.values)
            return values[_h(oid) % len(values)]
        typename = self.concrete(named, oid, schema)
        if typename is None:
            return None
        api_type = self.api.get_type(typename)
        real = typename
        if isinstance(api_type, GraphQLInterfaceType):  # an @interfaceObject here: the API knows the types
            candidates = sorted(p.name for p in self.api.get_possible_types(api_type))
            real = candidates[_h(oid + "#type") % len(candidates)] if candidates else typename
        self.register(real, oid)
        return {"__typename": typename, "_oid": oid}

    def concrete(self, t: GraphQLNamedType, oid: str, schema: GraphQLSchema) -> str | None:
        if isinstance(t, GraphQLObjectType):
            return t.name
        api_type = self.api.get_type(t.name)
        candidates = (
            sorted(p.name for p in self.api.get_possible_types(api_type))
            if isinstance(api_type, GraphQLInterfaceType | GraphQLUnionType)
            else []
        )
        here = (
            sorted(p.name for p in schema.get_possible_types(t))
            if isinstance(t, GraphQLInterfaceType | GraphQLUnionType)
            else []
        )
        if candidates:
            chosen = candidates[_h(oid + "#type") % len(candidates)]
            if chosen in here:
                return chosen
        return here[0] if here else None

    def register(self, typename: str, oid: str) -> None:
        """Make the object findable by every key of its type (and of the interfaces it implements)."""
        api_type = self.api.get_type(typename)
        names = [typename]
        if isinstance(api_type, GraphQLObjectType):
            names.extend(i.name for i in api_type.interfaces)
        for name in names:
            for sel in self.keys.get(name, ()):
                rep = self._project(name, oid, sel)
                if rep is not None:
                    self.registry.setdefault((name, json.dumps(rep, sort_keys=True)), (oid, typename))

    def _project(self, typename: str, oid: str, sel: SelectionSetNode) -> dict[str, Any] | None:
        t = self.api.get_type(typename)
        if not isinstance(t, GraphQLObjectType | GraphQLInterfaceType):
            return None
        out: dict[str, Any] = {}
        for s in sel.selections:
            if not isinstance(s, FieldNode):
                return None
            f = t.fields.get(s.name.value)
            if f is None:
                return None
            foid = f"{oid}.{s.name.value}"
            if s.selection_set is None:
                out[s.name.value] = self.value(f.type, foid, self.api)
                continue
            inner = get_named_type(f.type)
            if not isinstance(inner, GraphQLObjectType):
                return None
            sub = self._project(inner.name, foid, s.selection_set)
            if sub is None:
                return None
            out[s.name.value] = sub
        return out

    def find(self, rep: dict[str, Any]) -> tuple[str, str] | None:
        """The (oid, concrete type) of the object a representation stands for."""
        typename = rep.get("__typename", "")
        for sel in self.keys.get(typename, ()):
            key = _pick(rep, sel)
            if key is not None:
                found = self.registry.get((typename, json.dumps(key, sort_keys=True)))
                if found is not None:
                    return found
        return None

    # -- subgraphs -----------------------------------------------------------------------------------

    def schema(self, sdl: str) -> GraphQLSchema:
        """One subgraph, executable: every field answers from :meth:`value`."""

        def entity(rep: dict[str, Any]) -> Any:
            found = self.find(rep)
            if found is None:
                return None
            oid, concrete = found
            t = sg.get_type(concrete)
            return {"__typename": concrete if isinstance(t, GraphQLObjectType) else rep["__typename"], "_oid": oid}

        sg = executable_schema(sdl, {}, _AnyType(entity))
        for t in sg.type_map.values():
            if not isinstance(t, GraphQLObjectType) or t.name.startswith("__"):
                continue
            for name, f in t.fields.items():
                if name in ("_entities", "_service") and t is sg.query_type:
                    continue
                f.resolve = self._resolver(sg, f)
        return sg

    def _resolver(self, schema: GraphQLSchema, f: GraphQLField) -> Any:
        def resolve(source: Any, info: Any, **args: Any) -> Any:
            parent = source.get("_oid", "") if isinstance(source, dict) else info.parent_type.name
            suffix = "(" + json.dumps(args, sort_keys=True) + ")" if args else ""
            return self.value(f.type, f"{parent}.{info.field_name}{suffix}", schema)

        return resolve


class _AnyType(dict[str, Any]):
    """Entity resolvers for every type name: one function."""

    def __init__(self, fn: Any) -> None:
        super().__init__()
        self.fn = fn

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return self.fn


def _pick(rep: dict[str, Any], sel: SelectionSetNode) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for s in sel.selections:
        if not isinstance(s, FieldNode) or s.name.value not in rep:
            return None
        v = rep[s.name.value]
        if s.selection_set is not None:
            if not isinstance(v, dict):
                return None
            sub = _pick(v, s.selection_set)
            if sub is None:
                return None
            v = sub
        out[s.name.value] = v
    return out


def _scalar(name: str, oid: str) -> Any:
    h = _h(oid)
    if name == "Int":
        return h % 100
    if name == "Float":
        return (h % 400) / 4
    if name == "Boolean":
        return h % 2 == 0
    return f"{name[:1].lower()}{h % 1_000_000}"


def start_auto_scenario(server: SubgraphServer, name: str, directory: Path | None = None) -> AutoScenario:
    """Register the subgraphs of fixture ``name`` (or of the scenario in ``directory``: its subgraph
    files and ``supergraph.graphql``, or a composition corpus case with ``expected-supergraph.graphql``)
    answering from :class:`AutoData`."""
    from gateway.runtime import Gateway

    where = directory or FIXTURES / name
    sdl_file = where / "supergraph.graphql"
    if not sdl_file.exists():
        sdl_file = where / "expected-supergraph.graphql"
    sdl = sdl_file.read_text()
    data = AutoData(api=Gateway.from_supergraph_sdl(sdl).api_schema)
    files = sorted(p for p in where.glob("*.graphql") if p.stem != "supergraph" and not p.stem.startswith("expected"))
    for p in files:
        data.add_keys(p.read_text())
    apps = {p.stem: server.register(f"auto-{name}/{p.stem}", data.schema(p.read_text())) for p in files}
    return AutoScenario(name=name, server=server, subgraphs=apps, path_prefix=f"auto-{name}", sdl=sdl)


@dataclass
class AutoScenario(Scenario):
    """A fixture's subgraphs answering from :class:`AutoData`, served under ``auto-<name>/``."""

    path_prefix: str = ""
    sdl: str = ""

    def supergraph_sdl(self) -> str:
        return self.sdl

    def gateway(self, sdl: str | None = None) -> Any:
        from gateway.runtime import Gateway

        return Gateway.from_supergraph_sdl(sdl or self.sdl, subgraph_url_overrides=self.urls())

    def urls(self) -> dict[str, str]:
        return {n: self.server.url(f"{self.path_prefix}/{n}") for n in self.subgraphs}
