"""Random valid operations over an API schema, for differential testing against Apollo Gateway.

:class:`OperationGenerator` writes query text: random root fields, nested selections down to a
depth, inline fragments on the possible types of interfaces and unions (and on interfaces those
types implement), aliases, ``__typename``, ``@include``/``@skip`` with literals or variables,
and arguments drawn from pools the caller gives (ids that exist in the test data). Every
operation is validated against the schema; :meth:`OperationGenerator.operation` only returns
valid ones.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
    is_leaf_type,
    parse,
    validate,
)


@dataclass(frozen=True)
class GeneratedOperation:
    """An operation's text and the variables it needs."""

    query: str
    variables: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class _Builder:
    rng: random.Random
    variables: dict[str, Any] = field(default_factory=dict)
    declarations: list[str] = field(default_factory=list)
    aliases: int = 0

    def condition(self) -> str:
        """Sometimes an @include / @skip, with a literal or a variable."""
        r = self.rng.random()
        if r > 0.12:
            return ""
        directive = self.rng.choice(["include", "skip"])
        value = self.rng.random() < 0.5
        if r < 0.06:
            name = f"v{len(self.declarations)}"
            self.declarations.append(f"${name}: Boolean!")
            self.variables[name] = value
            return f" @{directive}(if: ${name})"
        return f" @{directive}(if: {'true' if value else 'false'})"


class OperationGenerator:
    """Random valid queries over ``schema``; ``arguments`` maps ``"Type.field.arg"`` (or a type name such
    as ``"ID"``) to the values to pick from."""

    def __init__(self, schema: GraphQLSchema, arguments: Mapping[str, Sequence[Any]], max_depth: int = 4) -> None:
        self.schema = schema
        self.arguments = arguments
        self.max_depth = max_depth

    def operation(self, rng: random.Random, attempts: int = 50) -> GeneratedOperation:
        """A random valid query (raises when ``attempts`` tries all fail validation)."""
        for _ in range(attempts):
            op = self._attempt(rng)
            if op is not None and not validate(self.schema, parse(op.query)):
                return op
        raise RuntimeError("no valid operation generated")

    def _attempt(self, rng: random.Random) -> GeneratedOperation | None:
        query = self.schema.query_type
        assert query is not None
        b = _Builder(rng)
        body = self._selections(b, query, 0)
        if not body:
            return None
        head = "query" + (f"({', '.join(b.declarations)})" if b.declarations else "")
        return GeneratedOperation(f"{head} {{ {body} }}", dict(b.variables))

    def _fields(self, t: GraphQLObjectType | GraphQLInterfaceType) -> list[tuple[str, GraphQLField]]:
        return [(n, f) for n, f in t.fields.items() if not n.startswith("__")]

    def _selections(self, b: _Builder, t: GraphQLNamedType, depth: int) -> str:
        rng = b.rng
        parts: list[str] = []
        if isinstance(t, GraphQLObjectType | GraphQLInterfaceType):
            fields = self._fields(t)
            for name, f in rng.sample(fields, k=min(len(fields), rng.randint(1, 3))):
                sel = self._field(b, name, f, depth)
                if sel:
                    parts.append(sel)
        if isinstance(t, GraphQLInterfaceType | GraphQLUnionType):
            possible = list(self.schema.get_possible_types(t))
            for obj in rng.sample(possible, k=min(len(possible), rng.randint(1, 3))):
                inner = self._selections(b, obj, depth)
                if inner:
                    parts.append(f"... on {obj.name}{b.condition()} {{ {inner} }}")
            if rng.random() < 0.3:
                ifaces = sorted({i.name for o in possible for i in o.interfaces if i.name != t.name})
                if ifaces:
                    iface = self.schema.get_type(rng.choice(ifaces))
                    assert iface is not None
                    inner = self._selections(b, iface, depth)
                    if inner:
                        parts.append(f"... on {iface.name} {{ {inner} }}")
        if rng.random() < 0.2 or (not parts and depth > 0) or (parts and all("@" in p.split("{")[0] for p in parts)):
            # an unconditional selection in every selection set: Apollo Gateway answers null for an object
            # whose every selection is excluded by @skip/@include (the spec, and this gateway, answer {})
            parts.append("__typename")
        return " ".join(parts)

    def _field(self, b: _Builder, name: str, f: GraphQLField, depth: int) -> str:
        rng = b.rng
        named = get_named_type(f.type)
        args = self._arguments(b, name, f)
        if args is None:
            return ""
        head = name + args
        if rng.random() < 0.1:
            b.aliases += 1
            head = f"a{b.aliases}: {head}"
        head += b.condition()
        if is_leaf_type(named):
            return head
        if depth + 1 >= self.max_depth:
            return ""
        inner = self._selections(b, named, depth + 1)
        return f"{head} {{ {inner} }}" if inner else ""

    def _arguments(self, b: _Builder, field_name: str, f: GraphQLField) -> str | None:
        """Printed arguments: every required one and some optional ones; None when one cannot be given."""
        parts: list[str] = []
        for name, arg in f.args.items():
            required = isinstance(arg.type, GraphQLNonNull) and arg.default_value is None
            if not required and b.rng.random() < 0.6:
                continue
            value = self._value(b, field_name, name, arg.type)
            if value is None:
                if required:
                    return None
                continue
            parts.append(f"{name}: {value}")
        return f"({', '.join(parts)})" if parts else ""

    def _value(self, b: _Builder, field_name: str, arg: str, t: GraphQLInputType) -> str | None:
        named = get_named_type(t)
        pool = self.arguments.get(f"{field_name}.{arg}") or self.arguments.get(named.name)
        inner = t.of_type if isinstance(t, GraphQLNonNull) else t
        if pool:
            value = b.rng.choice(list(pool))
        elif named.name == "Int":
            value = b.rng.randint(0, 3)
        elif named.name == "Boolean":
            value = b.rng.random() < 0.5
        elif named.name in ("ID", "String"):
            value = b.rng.choice(["1", "x"])
        elif isinstance(named, GraphQLEnumType):
            return b.rng.choice(list(named.values))
        else:
            return None
        text = _literal(value)
        return f"[{text}]" if isinstance(inner, GraphQLList) else text


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
