"""Classifying the changes between two supergraphs' API schemas: breaking, dangerous, safe.

Breaking and dangerous changes are graphql-core's own classification (removed
types and fields, changed field types, new required arguments, removed enum values,
nullability tightened on inputs or loosened on outputs ...); the safe ones (what
clients cannot notice except as new possibilities) are listed here.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    find_breaking_changes,
    find_dangerous_changes,
)

from .api_schema import api_schema_from_supergraph

BREAKING = "breaking"
DANGEROUS = "dangerous"
SAFE = "safe"


@dataclass(frozen=True, slots=True)
class SchemaChange:
    """One change between two API schemas."""

    level: str  # "breaking" | "dangerous" | "safe"
    kind: str  # graphql-core's change type name, or FIELD_ADDED / TYPE_ADDED / ... for safe ones
    message: str

    def __str__(self) -> str:
        return f"{self.level.upper():<9} {self.kind:<28} {self.message}"


def diff_schemas(old: GraphQLSchema, new: GraphQLSchema) -> list[SchemaChange]:
    """Every change from ``old`` to ``new``: breaking first, then dangerous, then safe."""
    changes = [SchemaChange(BREAKING, c.type.name, c.description) for c in find_breaking_changes(old, new)]
    changes += [SchemaChange(DANGEROUS, c.type.name, c.description) for c in find_dangerous_changes(old, new)]
    reported = " | ".join(c.message for c in changes) + " "
    changes += _safe_changes(old, new, reported)
    return changes


def diff_supergraphs(old_sdl: str, new_sdl: str) -> list[SchemaChange]:
    """Diff the API schemas of two supergraph SDLs."""
    return diff_schemas(api_schema_from_supergraph(old_sdl), api_schema_from_supergraph(new_sdl))


def _safe_changes(old: GraphQLSchema, new: GraphQLSchema, reported: str) -> list[SchemaChange]:
    """Changes graphql-core does not report; ``reported`` holds what it did, to avoid repeating it."""

    def seen(coord: str) -> bool:
        return f"{coord} " in reported or f"{coord}." in reported or f"{coord}(" in reported

    out: list[SchemaChange] = []
    old_types = {n: t for n, t in old.type_map.items() if not n.startswith("__")}
    new_types = {n: t for n, t in new.type_map.items() if not n.startswith("__")}
    for name in new_types:
        if name not in old_types:
            out.append(SchemaChange(SAFE, "TYPE_ADDED", f"Type {name} was added."))
    for name, nt in new_types.items():
        ot = old_types.get(name)
        if ot is None or type(ot) is not type(nt):
            continue
        if isinstance(nt, GraphQLObjectType | GraphQLInterfaceType):
            assert isinstance(ot, GraphQLObjectType | GraphQLInterfaceType)
            for fname, nf in nt.fields.items():
                of = ot.fields.get(fname)
                if of is None:
                    out.append(SchemaChange(SAFE, "FIELD_ADDED", f"Field {name}.{fname} was added."))
                    continue
                if str(of.type) != str(nf.type):
                    if not seen(f"{name}.{fname}"):
                        msg = f"Field {name}.{fname} changed type from {of.type} to {nf.type}."
                        out.append(SchemaChange(SAFE, "FIELD_CHANGED_KIND", msg))
                if of.deprecation_reason is None and nf.deprecation_reason is not None:
                    out.append(SchemaChange(SAFE, "FIELD_DEPRECATED", f"Field {name}.{fname} was deprecated."))
                for aname, na in nf.args.items():
                    oa = of.args.get(aname)
                    if oa is not None and str(oa.type) != str(na.type):
                        if not seen(f"{name}.{fname}({aname}:)"):
                            msg = f"Argument {name}.{fname}({aname}:) has changed type from {oa.type} to {na.type}."
                            out.append(SchemaChange(SAFE, "ARG_CHANGED_KIND", msg))
        elif isinstance(nt, GraphQLInputObjectType):
            assert isinstance(ot, GraphQLInputObjectType)
            for fname, nf in nt.fields.items():
                of = ot.fields.get(fname)
                if of is not None and str(of.type) != str(nf.type) and not seen(f"{name}.{fname}"):
                    msg = f"Field {name}.{fname} changed type from {of.type} to {nf.type}."
                    out.append(SchemaChange(SAFE, "FIELD_CHANGED_KIND", msg))
        elif isinstance(nt, GraphQLEnumType):
            assert isinstance(ot, GraphQLEnumType)
            for vname, nv in nt.values.items():
                ov = ot.values.get(vname)
                if ov is not None and ov.deprecation_reason is None and nv.deprecation_reason is not None:
                    msg = f"Enum value {name}.{vname} was deprecated."
                    out.append(SchemaChange(SAFE, "ENUM_VALUE_DEPRECATED", msg))
    return out
