"""What :mod:`subgraphs.common.fast_fields` may complete itself, decided once per schema and per selection.

Two decisions:

* per schema and object type (kept in the schema's ``extensions``, filled as types are met, and only
  once :mod:`subgraphs.common.authz` has installed its guards): which fields are *plain data*.
  A plain field is a Strawberry field without a resolver, permission or field extension (its
  resolver is Strawberry's ``_get_basic_result``, possibly inside the check authz wraps around a
  field it guards), read with ``getattr``. A plain *leaf* is of a scalar or enum type; a plain
  *object* field is of an object type or a list of one (no interface or union);
* per execution and selection set (a :class:`Plan`): one :class:`Step` per response name, what to
  do for it: read and coerce a leaf, answer ``__typename``, read a plain object field and complete
  it, or take graphql-core's ``execute_field`` (any field with a resolver, a guard the caller does
  not pass, an unknown field...). The caller is known then, so the guards are decided here too.

The leaf steps carry a short way for the common exact types (``str`` for String and ID, ``bool``,
``int`` within Int's 32 bits, the members of a Strawberry enum, whose names are computed by the
type's own ``coerce_output_value`` once); anything else is coerced by the type itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from graphql import (
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    Undefined,
    is_leaf_type,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter

from subgraphs.common.authz import GUARD, INSTALLED, Requirement
from subgraphs.common.caller import ANONYMOUS

__all__ = [
    "FAST_FIELDS",
    "FAST_OBJECTS",
    "LEAF_KINDS",
    "METHOD",
    "OBJECT",
    "SLOW",
    "TYPENAME",
    "Plan",
    "build_plan",
    "leaf_value",
    "plain_leaf",
    "plain_method",
    "plain_object",
]

FAST_FIELDS = "dpp-fast-fields"  # GraphQLSchema.extensions key: {type name: {field name: plain leaf}}
FAST_OBJECTS = "dpp-fast-objects"  # GraphQLSchema.extensions key: {type name: {field name: plain object}}
FAST_METHODS = "dpp-fast-methods"  # GraphQLSchema.extensions key: {type name: {field name: plain method}}

# A plain leaf: (attribute name, leaf type, non-null, the authorization it needs or None).
PlainLeaf = tuple[str, GraphQLLeafType, bool, Requirement | None]
# A plain object field: (attribute name, the authorization it needs or None).
PlainObject = tuple[str, Requirement | None]
# A plain method resolver: (the function, called with the source only; the authorization it needs or None).
PlainMethod = tuple[Callable[[Any], Any], Requirement | None]

# Step kinds: leaves (read, coerced, stored), then the others
K_STR, K_BOOL, K_INT, K_ENUM, K_ANY = 0, 1, 2, 3, 4
LEAF_KINDS = K_ANY  # kinds up to this one are leaves
TYPENAME = 5  # ``__typename``: the type's name
OBJECT = 6  # a plain object field: read, then completed
FIELD = 7  # graphql-core's execute_field
METHOD = 8  # a plain method resolver, called with the source only


class Step(NamedTuple):
    """What to do for one response name of a selection set (see the module docstring).

    A NamedTuple: its fields read as fast as a tuple's items (measured, see the commit that made it).
    """

    kind: int  # one of the kinds above
    response_name: str
    field_details: Any  # graphql-core's FieldDetailsList of the response name
    attribute: str = ""  # leaves and OBJECT: the attribute read on the source
    non_null: bool = False  # leaves: the field is non-null (a null goes to graphql-core, which reports it)
    leaf_type: Any = None  # leaves: the GraphQLLeafType, whose coerce_output_value K_ANY calls
    enum: tuple[type, dict[int, str]] | None = None  # K_ENUM: (enum class, {id(member): name})
    typename: str = ""  # TYPENAME: the answer
    field: Any = None  # OBJECT and METHOD: the GraphQLField (its type, for completion)
    function: Any = None  # METHOD: the function, called with the source only


SLOW = object()  # a leaf's value that graphql-core's path must complete (and report)
_MISSING = object()
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


class Plan:
    """The steps of one selection set on one object type, for one execution (see the module docstring)."""

    __slots__ = ("build", "leaves_only", "steps")

    def __init__(self, steps: tuple[Step, ...]) -> None:
        self.steps = steps
        self.leaves_only = all(step.kind <= TYPENAME for step in steps)
        # a leaves-only plan's specialised function (subgraphs/common/fast_build.py), set by the executor
        self.build: Callable[[Any], dict[str, Any] | None] | None = None


def _basic(field: GraphQLField) -> tuple[str, Requirement | None] | None:
    """``field``'s attribute and guard when it is a plain Strawberry data field, else None."""
    resolve = field.resolve
    requirement: Requirement | None = None
    guard = getattr(resolve, "__dict__", {}).get(GUARD)
    if guard is not None:  # authz's check around the resolver (a field of an @authenticated type...)
        requirement, resolve = guard
    if resolve is None or not getattr(resolve, "_is_default", False):
        return None  # a resolver of its own, or wrapped otherwise (extensions, a mutation's guard)
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if definition is None or not getattr(definition, "is_basic_field", False):
        return None
    if getattr(definition, "default_resolver", None) is not getattr:
        return None
    python_name = getattr(definition, "python_name", None)
    if not isinstance(python_name, str):
        return None
    return python_name, requirement


def plain_leaf(field: GraphQLField) -> PlainLeaf | None:
    """``field``'s plain-leaf instruction, or None when it must take graphql-core's path."""
    basic = _basic(field)
    if basic is None:
        return None
    type_ = field.type
    non_null = isinstance(type_, GraphQLNonNull)
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if not is_leaf_type(inner):
        return None
    return (basic[0], inner, non_null, basic[1])  # type: ignore[return-value]


# The cells of Strawberry's synchronous field resolver (GraphQLCoreConverter.from_resolver's ``_resolver``)
# in the version whose behaviour plain_method reproduces; any other shape is left to Strawberry.
_STRAWBERRY_RESOLVER_CELLS = (
    "_call_with_exception_handling",
    "_get_result_with_extensions",
    "_strawberry_info_from_graphql",
    "field_exception_handlers",
)


def plain_method(field: GraphQLField) -> PlainMethod | None:
    """``field``'s plain-method instruction, or None when Strawberry must call the resolver.

    A plain method is a synchronous resolver that takes only ``self`` (no arguments, no info,
    no root or parent), with no field extension or permission and no exception handler:
    Strawberry's resolver path would only call it with the source object. The guard authz
    wraps around it (if any) is checked when the plan is made, as for plain data.
    """
    resolve = field.resolve
    requirement: Requirement | None = None
    guard = getattr(resolve, "__dict__", {}).get(GUARD)
    if guard is not None:
        requirement, resolve = guard
    code = getattr(resolve, "__code__", None)
    if getattr(resolve, "__name__", None) != "_resolver" or code is None:
        return None
    if code.co_freevars != _STRAWBERRY_RESOLVER_CELLS:
        return None
    cells = dict(zip(code.co_freevars, resolve.__closure__ or (), strict=True))  # type: ignore[union-attr]
    if cells["field_exception_handlers"].cell_contents:
        return None
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    resolver = getattr(definition, "base_resolver", None)
    if resolver is None or field.args or getattr(definition, "is_async", True):
        return None
    if getattr(definition, "extensions", True) or getattr(definition, "arguments", True):
        return None
    if not getattr(resolver, "self_parameter", None):
        return None
    if any(
        getattr(resolver, name, True) is not None for name in ("parent_parameter", "root_parameter", "info_parameter")
    ):
        return None
    function = getattr(resolver, "wrapped_func", None)
    if not callable(function):
        return None
    return function, requirement


def _object_type(type_: GraphQLOutputType) -> GraphQLObjectType | None:
    """The object type of ``type_`` (under non-null and one list) when it needs no type resolution."""
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        type_ = type_.of_type
        if isinstance(type_, GraphQLNonNull):
            type_ = type_.of_type
    if type(type_) is GraphQLObjectType and type_.is_type_of is None:
        return type_
    return None


def plain_object(field: GraphQLField) -> PlainObject | None:
    """``field``'s plain-object instruction (an object or a list of objects), or None."""
    if _object_type(field.type) is None:
        return None
    return _basic(field)


def _decided(schema: GraphQLSchema, key: str, parent_type: GraphQLObjectType, decide: Callable[..., Any]) -> Any:
    extensions = schema.extensions
    by_type: dict[str, dict[str, Any]] | None = extensions.get(key)
    if by_type is None:
        by_type = extensions[key] = {}
    decided = by_type.get(parent_type.name)
    if decided is None:
        decided = {}
        for name, field in parent_type.fields.items():
            instruction = decide(field)
            if instruction is not None:
                decided[name] = instruction
        by_type[parent_type.name] = decided
    return decided


def _leaf_step(response_name: str, field_details: Any, leaf: PlainLeaf) -> Step:
    attribute, leaf_type, non_null, _requirement = leaf
    names: tuple[type, dict[int, str]] | None = None
    if leaf_type is GraphQLString or leaf_type is GraphQLID:
        kind = K_STR
    elif leaf_type is GraphQLBoolean:
        kind = K_BOOL
    elif leaf_type is GraphQLInt:
        kind = K_INT
    else:
        kind, names = K_ANY, _enum_names(leaf_type)
        if names:
            kind = K_ENUM
    return Step(kind, response_name, field_details, attribute, non_null, leaf_type, names)


def _enum_names(leaf_type: GraphQLLeafType) -> tuple[type, dict[int, str]] | None:
    """A Strawberry enum's class and ``{id(member): name}``, each name computed by the type's own coercion."""
    enum_class = getattr(leaf_type, "wrapped_cls", None)
    members = getattr(enum_class, "__members__", None)
    if not isinstance(enum_class, type) or not members:
        return None
    names: dict[int, str] = {}
    for member in members.values():
        try:
            name = leaf_type.coerce_output_value(member)
        except Exception:
            continue
        if isinstance(name, str):
            names[id(member)] = name  # by identity: an Enum's own __hash__ runs Python code
    return enum_class, names


def build_plan(
    schema: GraphQLSchema, parent_type: GraphQLObjectType, grouped_field_set: Any, context: Any
) -> Plan | None:
    """The plan of ``grouped_field_set`` on ``parent_type`` for a caller, or None (graphql-core's way)."""
    if schema.extensions.get(INSTALLED) is None:
        return None  # the authorization guards are not in place yet: decide nothing
    leaves: dict[str, PlainLeaf] = _decided(schema, FAST_FIELDS, parent_type, plain_leaf)
    objects: dict[str, PlainObject] = _decided(schema, FAST_OBJECTS, parent_type, plain_object)
    methods: dict[str, PlainMethod] = _decided(schema, FAST_METHODS, parent_type, plain_method)
    caller = getattr(context, "caller", None) or ANONYMOUS
    allowed: dict[Requirement, bool] = {}

    def passes(requirement: Requirement | None) -> bool:
        if requirement is None:
            return True
        if requirement not in allowed:
            allowed[requirement] = requirement.denial(caller) is None
        return allowed[requirement]

    steps: list[Step] = []
    for response_name, field_details in grouped_field_set.items():
        name = field_details[0].node.name.value
        leaf = leaves.get(name)
        plain = objects.get(name)
        method = methods.get(name)
        if name == "__typename":
            steps.append(Step(TYPENAME, response_name, field_details, typename=parent_type.name))
        elif leaf is not None and passes(leaf[3]):
            steps.append(_leaf_step(response_name, field_details, leaf))
        elif plain is not None and passes(plain[1]):
            steps.append(Step(OBJECT, response_name, field_details, plain[0], field=parent_type.fields[name]))
        elif method is not None and passes(method[1]):
            steps.append(Step(METHOD, response_name, field_details, field=parent_type.fields[name], function=method[0]))
        else:  # a resolver, a guard the caller does not pass (graphql-core's path reports it), an unknown field
            steps.append(Step(FIELD, response_name, field_details))
    return Plan(tuple(steps))


def leaf_value(step: Step, source: Any) -> Any:
    """The completed value of a leaf step on ``source``, or :data:`SLOW` when graphql-core must do it.

    SLOW for whatever needs reporting (a null in a non-null field, a value the type cannot coerce,
    an attribute that raises or holds an exception): graphql-core's path reads it again and reports it.
    """
    value: Any = getattr(source, step.attribute, _MISSING)
    if value is None:
        return SLOW if step.non_null else None
    kind = step.kind
    exact = type(value)
    if kind == K_STR:
        if exact is str:
            return value
    elif kind == K_ENUM:
        enum_class, names = step.enum  # type: ignore[misc]
        if exact is enum_class:
            name = names.get(id(value))
            if name is not None:
                return name
    elif kind == K_INT:
        if exact is int and _INT_MIN <= value <= _INT_MAX:
            return value
    elif kind == K_BOOL and exact is bool:
        return value
    if value is _MISSING or value is Undefined or isinstance(value, Exception):
        return SLOW
    try:
        coerced = step.leaf_type.coerce_output_value(value)
    except Exception:
        return SLOW
    if coerced is None or coerced is Undefined:
        return SLOW
    return coerced
