"""One specialised function per shape of a leaves-only selection: an object's answer in straight-line code.

A selection of leaves and ``__typename`` only (a passport's ``fields { key label type access unit
value }``, its ``values { key value }``, an entity reference ``{ id __typename }``) is answered
for every object of a list. :func:`leaves_builder` turns such a plan into a function that reads each
attribute directly, checks the exact type the short way accepts (``str`` for String and ID,
``bool``, ``int`` in Int's range, a member of the Strawberry enum) and builds the answer's dict in
one expression. Anything else for a field (a null, another type, a scalar such as JSON or
DateTime) goes to :func:`subgraphs.common.fast_plans.leaf_value` for that field; whatever that
cannot complete, or an attribute that raises, makes the function answer None, and the caller
takes graphql-core's path for the whole object (which reads again and reports).

The code is generated from the *shape* only (kinds and attribute names, the latter Python
identifiers of the schema's own classes); response names, steps and enum tables are bound by a
factory call per plan, so one compiled factory serves every document with that shape. The
factories are kept per schema, at most :data:`MAX_SHAPES` (beyond that, plans use the generic loop).
"""

from __future__ import annotations

import keyword
from collections.abc import Callable
from typing import Any

from graphql import GraphQLSchema, Undefined

from subgraphs.common.fast_plans import K_ANY, K_BOOL, K_ENUM, K_INT, K_STR, SLOW, TYPENAME, Step, leaf_value

__all__ = ["MAX_SHAPES", "leaves_builder"]

BUILDERS = "dpp-fast-builders"  # GraphQLSchema.extensions key: {shape: compiled factory}
MAX_SHAPES = 512
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1

Builder = Callable[[Any], "dict[str, Any] | None"]
_Shape = tuple[tuple[int, str, bool], ...]  # per step: kind (-1: leaf_value), attribute, non-null

_CHECKS = {
    K_STR: "type(v{i}) is not str",
    K_BOOL: "type(v{i}) is not bool",
    K_INT: "type(v{i}) is not int or not INT_MIN <= v{i} <= INT_MAX",
}


def _shape(steps: tuple[Step, ...]) -> _Shape:
    shape: list[tuple[int, str, bool]] = []
    for step in steps:
        kind = step.kind
        if kind == TYPENAME:
            shape.append((kind, "", False))
        elif step.attribute.isidentifier() and not keyword.iskeyword(step.attribute):
            shape.append((kind, step.attribute, step.non_null))
        else:
            shape.append((-1, "", False))  # leaf_value reads it
    return tuple(shape)


def _source(shape: _Shape) -> str:
    count = len(shape)
    parameters = ", ".join([f"n{i}" for i in range(count)] + [f"s{i}" for i in range(count)])
    bound = [f"    t{i} = s{i}.typename" for i, (kind, _a, _n) in enumerate(shape) if kind == TYPENAME]
    bound += [f"    e{i}, m{i} = s{i}.enum" for i, (kind, _a, _n) in enumerate(shape) if kind == K_ENUM]
    bound += [
        f"    c{i} = s{i}.leaf_type.coerce_output_value" for i, (kind, _a, _n) in enumerate(shape) if kind == K_ANY
    ]
    body = [*bound, "    def build(source):", "        try:"]
    for i, (kind, attribute, non_null) in enumerate(shape):
        if kind == TYPENAME:
            body.append(f"            v{i} = t{i}")
            continue
        if kind == -1:
            body += [f"            v{i} = leaf_value(s{i}, source)", f"            if v{i} is SLOW: return None"]
            continue
        body += [f"            v{i} = source.{attribute}", f"            if v{i} is None:"]
        body.append("                return None" if non_null else "                pass")
        if kind == K_ANY:  # the type's own coercion; what it refuses (or an error value) goes to graphql-core
            body += [
                f"            elif v{i} is Undefined or isinstance(v{i}, Exception):",
                "                return None",
                "            else:",
                f"                v{i} = c{i}(v{i})",
                f"                if v{i} is None or v{i} is Undefined: return None",
            ]
            continue
        if kind == K_ENUM:
            body += [
                f"            elif type(v{i}) is e{i} and id(v{i}) in m{i}:",
                f"                v{i} = m{i}[id(v{i})]",
                "            else:",
            ]
        else:
            body += ["            elif " + _CHECKS[kind].format(i=i) + ":"]
        body += [f"                v{i} = leaf_value(s{i}, source)", f"                if v{i} is SLOW: return None"]
    body += ["        except Exception:", "            return None"]
    body.append("        return {" + ", ".join(f"n{i}: v{i}" for i in range(count)) + "}")
    return f"def make({parameters}):\n" + "\n".join(body) + "\n    return build\n"


def _compile(shape: _Shape) -> Callable[..., Builder]:
    namespace: dict[str, Any] = {
        "leaf_value": leaf_value,
        "SLOW": SLOW,
        "Undefined": Undefined,
        "INT_MIN": _INT_MIN,
        "INT_MAX": _INT_MAX,
    }
    exec(compile(_source(shape), "<dpp fast leaves>", "exec"), namespace)
    return namespace["make"]  # type: ignore[no-any-return]


def _empty(_source: Any) -> dict[str, Any]:
    return {}


def leaves_builder(schema: GraphQLSchema, steps: tuple[Step, ...]) -> Builder | None:
    """The specialised function of a leaves-only plan's ``steps`` (None: too many shapes already)."""
    if not steps:  # an empty selection (a fragment on another type of a union): an empty answer
        return _empty
    factories: dict[_Shape, Callable[..., Builder]] | None = schema.extensions.get(BUILDERS)
    if factories is None:
        factories = schema.extensions[BUILDERS] = {}
    shape = _shape(steps)
    factory = factories.get(shape)
    if factory is None:
        if len(factories) >= MAX_SHAPES:
            return None
        factory = factories[shape] = _compile(shape)
    return factory(*(step.response_name for step in steps), *steps)
