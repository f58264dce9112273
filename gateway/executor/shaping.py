"""The response formatter's fast path: shaping instructions compiled once per operation.

:class:`~gateway.executor.response.ResponseFormatter` is the reference: it walks the
operation and the schema for every object of every response, carrying a path for
error messages. Most responses have no error to report, and for those the walk can
be decided in advance: which response names an object gets, in which order, and how
each value is completed (copied leaf, checked non-null leaf, nested object, list of
objects...). :class:`CompiledShapes` holds that decision tree per operation (and per
set of @skip/@include variable values), so a request only runs a tight loop over
plain tuples.

The fast path keeps no paths. When it meets something that must be reported with a
path (a null in a non-null position while no error explains it yet, or an enum value
the API schema does not know), it gives up and the reference formatter shapes the
whole response again, so every error is exactly the reference's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
    is_leaf_type,
)

from gateway.executor.response import (
    _INTROSPECTION,
    _SCALAR,
    _SCALAR_NON_NULL,
    _TYPENAME,
    ResponseFormatter,
    ShapeCache,
)
from gateway.planner.operation import NormalizedOperation, OpSelection
from gateway.supergraph.parser import HIDDEN_ENUM_VALUES

__all__ = ["CompiledShapes", "format_data"]

_BUBBLE = object()  # this position must become null (a non-null value was null)

INTERPRETED_RUNS = 1
"""Responses a shape's interpreter shapes before its generated function is made (:meth:`ObjectShape.run`)."""

# Field instructions: (response name, kind, argument). The kinds cover what almost every
# schema uses; anything else (enums, lists of lists, abstract types...) goes through the
# generic completion of a compiled type node.
_K_SCALAR = 0  # nullable non-enum leaf: copy (argument unused)
_K_SCALAR_NN = 1  # non-null non-enum leaf: copy, bubble when null
_K_CONST = 2  # __typename: the argument is the object's type name
_K_OBJECT = 3  # nullable object type: the argument is its ObjectShape
_K_OBJECT_NN = 4  # non-null object type
_K_LIST_OBJECTS = 5  # list of object type: argument (shape, list non-null, items non-null)
_K_VALUE = 6  # anything else: the argument is a type node for _complete
_K_ENUM = 7  # nullable enum: the argument is (its values, its @inaccessible values)
_K_ENUM_NN = 8  # non-null enum

# Type nodes for the generic completion: (tag, payload).
_T_NON_NULL, _T_LIST, _T_LEAF, _T_ENUM, _T_OBJECT, _T_ABSTRACT = range(6)


class _NeedPaths(Exception):
    """Something must be reported with its path: the reference formatter takes over."""


class ObjectShape:
    """The fields of one object type under one (merged) selection, compiled.

    ``fields`` is filled right after construction; a shape is registered before its
    fields are compiled so that a selection can never recurse into an unfinished one.
    """

    __slots__ = ("fields", "fn", "introspection", "name", "runs")

    def __init__(self, name: str) -> None:
        self.name = name
        self.fields: tuple[tuple[str, int, Any], ...] = ()
        self.introspection: tuple[str, ...] = ()  # response names of __schema / __type fields
        # the generated function (gateway/executor/shaping_codegen.py), made on the second use
        self.fn: Callable[[Any], dict[str, Any]] | None = None
        self.runs = 0  # responses shaped by the interpreter before ``fn`` exists

    def run(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """``_object(self, raw, False)``: the shaped object, or ``_NeedPaths`` raised.

        The first response is interpreted, the later ones run the generated function: an
        operation sent once (a one-off document, a probe) costs no code generation and
        keeps no generated code (about 40-80 bytes per character of the document)."""
        fn = self.fn
        if fn is None:
            if self.runs < INTERPRETED_RUNS:
                self.runs += 1
                return _object(self, raw, False)  # type: ignore[no-any-return]
            from gateway.executor.shaping_codegen import compile_shape  # it imports this module

            fn = compile_shape(self)
        return fn(raw)


class _Abstract:
    """An interface or union position: the shape for each concrete ``__typename`` seen, decided once."""

    __slots__ = ("by_typename", "compiler", "sels", "type")

    def __init__(self, compiler: _Compiler, type_: GraphQLOutputType, sels: list[OpSelection]) -> None:
        self.compiler = compiler
        self.type = type_
        self.sels = sels
        self.by_typename: dict[Any, ObjectShape | None] = {}

    def shape_for(self, typename: Any) -> ObjectShape | None:
        try:
            return self.by_typename[typename]
        except KeyError:
            pass
        except TypeError:  # an unhashable __typename: no type has it
            return None
        schema = self.compiler.schema
        t = schema.get_type(typename) if isinstance(typename, str) else None
        shape: ObjectShape | None = None
        # the same decisions as ResponseFormatter._value for abstract types
        if isinstance(t, GraphQLInterfaceType) and (t is self.type or schema.is_sub_type(self.type, t)):  # type: ignore[arg-type]
            shape = self.compiler.object_shape(t, self.sels)
        elif isinstance(t, GraphQLObjectType) and schema.is_sub_type(self.type, t):  # type: ignore[arg-type]
            shape = self.compiler.object_shape(t, self.sels)
        self.by_typename[typename] = shape
        return shape


class _Compiler:
    """Compiles shapes for one operation and one set of condition values."""

    def __init__(self, schema: GraphQLSchema, variables: Mapping[str, Any]) -> None:
        self.schema = schema
        # The reference formatter's field collection (document order, fragments merged,
        # conditions applied) is reused as is, so both paths collect identically.
        self._collector = ResponseFormatter(schema, variables, [])
        self._shapes: dict[tuple[int, str], ObjectShape] = {}
        # the selection lists compiled shapes depend on, kept alive so their ids stay unique
        self._keep: list[list[OpSelection]] = []

    def object_shape(self, type_: GraphQLObjectType | GraphQLInterfaceType, sels: list[OpSelection]) -> ObjectShape:
        key = (id(sels), type_.name)
        shape = self._shapes.get(key)
        if shape is not None:
            return shape
        shape = self._shapes[key] = ObjectShape(type_.name)
        self._keep.append(sels)
        fields: list[tuple[str, int, Any]] = []
        for rn, kind, t, subs in self._collector._collect(type_, sels):  # type: ignore[arg-type]
            if kind == _SCALAR:
                fields.append((rn, _K_SCALAR, None))
            elif kind == _SCALAR_NON_NULL:
                fields.append((rn, _K_SCALAR_NN, None))
            elif kind == _TYPENAME:
                fields.append((rn, _K_CONST, type_.name))
            elif kind == _INTROSPECTION:
                # null here; format_data fills the root's from the introspection result
                # (the reference formatter only reads it for root fields)
                fields.append((rn, _K_CONST, None))
                shape.introspection += (rn,)
            else:
                fields.append(self._field(rn, t, subs))
        shape.fields = tuple(fields)
        return shape

    def _field(self, rn: str, t: GraphQLOutputType, subs: list[OpSelection]) -> tuple[str, int, Any]:
        non_null = isinstance(t, GraphQLNonNull)
        inner = t.of_type if isinstance(t, GraphQLNonNull) else t
        if isinstance(inner, GraphQLObjectType):
            return (rn, _K_OBJECT_NN if non_null else _K_OBJECT, self.object_shape(inner, subs))
        if isinstance(inner, GraphQLEnumType):
            # inline in _object: a listing has enums in every item (the same checks as _T_ENUM)
            return (rn, _K_ENUM_NN if non_null else _K_ENUM, self.type_node(inner, subs)[1])
        if isinstance(inner, GraphQLList):
            item = inner.of_type
            item_non_null = isinstance(item, GraphQLNonNull)
            item_inner = item.of_type if isinstance(item, GraphQLNonNull) else item
            if isinstance(item_inner, GraphQLObjectType):
                return (rn, _K_LIST_OBJECTS, (self.object_shape(item_inner, subs), non_null, item_non_null))
        return (rn, _K_VALUE, self.type_node(t, subs))

    def type_node(self, t: GraphQLOutputType, subs: list[OpSelection]) -> tuple[int, Any]:
        if isinstance(t, GraphQLNonNull):
            return (_T_NON_NULL, self.type_node(t.of_type, subs))
        if isinstance(t, GraphQLList):
            return (_T_LIST, self.type_node(t.of_type, subs))
        if isinstance(t, GraphQLEnumType):
            return (_T_ENUM, (t.values, (t.extensions or {}).get(HIDDEN_ENUM_VALUES, frozenset())))
        if is_leaf_type(t):
            return (_T_LEAF, None)
        if isinstance(t, GraphQLObjectType):
            return (_T_OBJECT, self.object_shape(t, subs))
        return (_T_ABSTRACT, _Abstract(self, t, subs))


def _condition_variables(sels: list[OpSelection] | None, out: set[str]) -> None:
    for s in sels or ():
        for _directive, value in s.conditions:
            if isinstance(value, str):
                out.add(value)
        _condition_variables(s.selections, out)


@dataclass(slots=True)
class CompiledShapes:
    """Compiled shaping instructions of one operation, shared by all its executions.

    Keyed by the truth values of the variables @skip/@include read (usually none, so
    one entry); a few distinct combinations are kept, beyond that each request compiles
    its own (still correct, just not cached).
    """

    condition_variables: tuple[str, ...] | None = None
    roots: dict[tuple[bool, ...], ObjectShape] = field(default_factory=dict)
    max_entries: int = 32

    def root(self, schema: GraphQLSchema, op: NormalizedOperation, variables: Mapping[str, Any]) -> ObjectShape:
        """The compiled shape of the operation's root type for these variables."""
        names = self.condition_variables
        if names is None:
            found: set[str] = set()
            _condition_variables(op.selections, found)
            names = self.condition_variables = tuple(sorted(found))
        # conditions_hold reads bool(variables.get(name)): that is all a shape depends on
        key = tuple(bool(variables.get(n)) for n in names)
        shape = self.roots.get(key)
        if shape is None:
            root = {
                "query": schema.query_type,
                "mutation": schema.mutation_type,
                "subscription": schema.subscription_type,
            }[op.kind]
            assert root is not None
            shape = _Compiler(schema, variables).object_shape(root, op.selections)
            if len(self.roots) < self.max_entries:
                self.roots[key] = shape
        return shape


def format_data(
    schema: GraphQLSchema,
    op: NormalizedOperation,
    data: Mapping[str, Any],
    variables: Mapping[str, Any],
    errors: list[dict[str, Any]],
    compiled: CompiledShapes,
    shared: ShapeCache | None = None,
    introspection: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The ``data`` member of the response, exactly as :class:`ResponseFormatter` shapes it.

    Appends to ``errors`` what the reference formatter would (only on the slow path:
    the fast path adds no error, it hands over instead).
    """
    root = compiled.root(schema, op, variables)
    try:
        if errors:
            # With an error already reported, nulls in non-null positions are explained
            # and only bubble: the interpreter does that.
            result = _object(root, data, True)
        else:
            # Without one, the first such null needs its path: the generated code hands over.
            result = root.run(data)
    except _NeedPaths:
        return ResponseFormatter(schema, variables, errors, shared).format(op, data, introspection)
    if result is _BUBBLE:
        return None
    if root.introspection:
        intro = introspection or {}
        for rn in root.introspection:
            result[rn] = intro.get(rn)
    return result  # type: ignore[no-any-return]


def _null(quiet: bool) -> Any:
    if not quiet:
        raise _NeedPaths
    return _BUBBLE


def _object(shape: ObjectShape, raw: Mapping[str, Any], quiet: bool) -> Any:
    # The hot loop of the gateway: one iteration per response field. Kinds are small
    # ints compared in order of frequency; no schema object is touched here.
    out: dict[str, Any] = {}
    get = raw.get
    for rn, kind, arg in shape.fields:
        if kind == _K_SCALAR:
            out[rn] = get(rn)
        elif kind == _K_SCALAR_NN:
            v = get(rn)
            if v is None:
                return _null(quiet)
            out[rn] = v
        elif kind == _K_ENUM_NN or kind == _K_ENUM:
            v = get(rn)
            if v is not None and (not isinstance(v, str) or v not in arg[0]):
                if not isinstance(v, str) or v not in arg[1]:
                    raise _NeedPaths  # reported with its path by the reference formatter
                v = None  # an @inaccessible value: hidden, so no error names it
            if v is None and kind == _K_ENUM_NN:
                return _null(quiet)
            out[rn] = v
        elif kind == _K_LIST_OBJECTS:
            v = get(rn)
            if v is None or not isinstance(v, list):
                if arg[1]:
                    return _null(quiet)
                out[rn] = None
                continue
            sub, item_nn = arg[0], arg[2]
            items: list[Any] | None = []
            append = items.append  # type: ignore[union-attr]
            for item in v:
                if item is None or not isinstance(item, dict):
                    # a null item (or one that is not an object, which the reference nulls)
                    if item_nn:
                        if not quiet:
                            raise _NeedPaths
                        items = None
                        break
                    append(None)
                    continue
                r = _object(sub, item, quiet)
                if r is _BUBBLE:
                    if item_nn:
                        items = None
                        break
                    r = None
                append(r)
            if items is None and arg[1]:
                return _null(quiet)
            out[rn] = items
        elif kind == _K_OBJECT or kind == _K_OBJECT_NN:
            v = get(rn)
            r = None
            if v is not None and isinstance(v, dict):
                r = _object(arg, v, quiet)
                if r is _BUBBLE:
                    r = None
            if r is None and kind == _K_OBJECT_NN:
                return _null(quiet)
            out[rn] = r
        elif kind == _K_CONST:
            out[rn] = arg
        else:
            r = _complete(arg, get(rn), quiet)
            if r is _BUBBLE:
                return _BUBBLE
            out[rn] = r
    return out


def _complete(node: tuple[int, Any], value: Any, quiet: bool) -> Any:
    """Generic completion of ``value`` against a compiled type node (ResponseFormatter._value)."""
    tag, arg = node
    if tag == _T_NON_NULL:
        r = _complete(arg, value, quiet)
        if r is None or r is _BUBBLE:
            if r is None:
                return _null(quiet)
            return _BUBBLE
        return r
    if value is None:
        return None
    if tag == _T_LIST:
        if not isinstance(value, list):
            return None
        items = []
        for item in value:
            r = _complete(arg, item, quiet)
            if r is _BUBBLE:
                return None
            items.append(r)
        return items
    if tag == _T_LEAF:
        return value
    if tag == _T_ENUM:
        values, hidden = arg
        if not isinstance(value, str) or value not in values:
            if isinstance(value, str) and value in hidden:
                return None  # an @inaccessible value: hidden, so no error names it
            raise _NeedPaths  # reported with its path by the reference formatter
        return value
    if not isinstance(value, dict):
        return None
    if tag == _T_OBJECT:
        shape: ObjectShape | None = arg
    else:
        shape = arg.shape_for(value.get("__typename"))
        if shape is None:
            return None
    if not quiet:
        return shape.run(value)  # type: ignore[union-attr]
    r = _object(shape, value, quiet)  # type: ignore[arg-type]
    return None if r is _BUBBLE else r

