"""Plain data leaf fields completed without graphql-core's per-field machinery.

A listing answers thousands of leaf fields (a dashboard page of 50 passports: ~3,500
``key``/``label``/``type``/``value``... of their fields and values). For each one
graphql-core builds a path, a resolve info and a node list, calls Strawberry's resolver
(which calls ``getattr``), checks the result for awaitability and walks
``complete_value`` down to the leaf's ``coerce_output_value``: several microseconds for
one attribute read.

:class:`FastFieldsExecutor` decides once per schema which fields are *plain data
leaves*: Strawberry fields without a resolver, permission or field extension (their
resolver is Strawberry's ``_get_basic_result``, possibly inside the check
:mod:`subgraphs.common.authz` wraps around every field it guards: a field of an
``@authenticated`` type, for example), read with ``getattr`` and of a scalar or enum type.
Such a field is completed here in a few steps (the guard's check when it has one, read the
attribute, coerce it, store it). Whatever needs reporting (a caller the guard denies, a
null in a non-null field, a value the type cannot coerce, an attribute that raises or
holds an exception) goes through graphql-core's own path for that field, which checks and
reads again and reports it exactly as before: answers and errors do not change.

The decisions are kept in the schema's ``extensions`` (one dict per schema, filled as
types are met) and only once :mod:`subgraphs.common.authz` has installed its guards.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    is_leaf_type,
)
from graphql.pyutils import Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

from subgraphs.common.authz import GUARD, INSTALLED, Requirement
from subgraphs.common.caller import ANONYMOUS

__all__ = ["FAST_FIELDS", "FastFieldsExecutor", "plain_leaf"]

FAST_FIELDS = "dpp-fast-fields"  # GraphQLSchema.extensions key: {type name: {field name: plain leaf}}

# A plain leaf: (attribute name, leaf type, non-null, the authorization it needs or None).
PlainLeaf = tuple[str, GraphQLLeafType, bool, Requirement | None]

_MISSING = object()


def plain_leaf(field: GraphQLField) -> PlainLeaf | None:
    """``field``'s plain-leaf instruction, or None when it must take graphql-core's path."""
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
    type_ = field.type
    non_null = isinstance(type_, GraphQLNonNull)
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if not is_leaf_type(inner):
        return None
    return (python_name, inner, non_null, requirement)  # type: ignore[return-value]


def _plain_leaves(schema: GraphQLSchema, parent_type: GraphQLObjectType) -> dict[str, PlainLeaf] | None:
    extensions = schema.extensions
    if extensions.get(INSTALLED) is None:
        return None  # the authorization guards are not in place yet: decide nothing
    by_type: dict[str, dict[str, PlainLeaf]] | None = extensions.get(FAST_FIELDS)
    if by_type is None:
        by_type = extensions[FAST_FIELDS] = {}
    leaves = by_type.get(parent_type.name)
    if leaves is None:
        leaves = {}
        for name, field in parent_type.fields.items():
            leaf = plain_leaf(field)
            if leaf is not None:
                leaves[name] = leaf
        by_type[parent_type.name] = leaves
    return leaves


class FastFieldsExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, with plain data leaves completed inline (see the module docstring)."""

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's ``execute_fields``, with a short way for plain data leaves."""
        leaves = None if self.middleware_manager else _plain_leaves(self.schema, parent_type)
        if not leaves:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        allowed: Requirement | None = None  # the last requirement the caller met (one per type, usually)
        try:
            for response_name, field_details_list in grouped_field_set.items():
                leaf = leaves.get(field_details_list[0].node.name.value)
                if leaf is not None and leaf[3] is not None and leaf[3] is not allowed:
                    # authz's guard, inline: a denied caller takes graphql-core's path (the guard raises there)
                    caller = getattr(self.context_value, "caller", None) or ANONYMOUS
                    if leaf[3].denial(caller) is None:
                        allowed = leaf[3]
                    else:
                        leaf = None
                if leaf is not None:
                    value = getattr(source_value, leaf[0], _MISSING)
                    if value is None:
                        if not leaf[2]:
                            results[response_name] = None
                            continue
                    elif value is not _MISSING and value is not Undefined and not isinstance(value, Exception):
                        try:
                            coerced = leaf[1].coerce_output_value(value)
                        except Exception:  # reported by graphql-core's path below
                            coerced = None
                        if coerced is not None and coerced is not Undefined:
                            results[response_name] = coerced
                            continue
                result = self.execute_field(
                    parent_type,
                    source_value,
                    field_details_list,
                    Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return self._gather(results, awaitable_fields)

    async def _gather(self, results: dict[str, Any], awaitable_fields: list[str]) -> dict[str, Any]:
        if len(awaitable_fields) == 1:
            field = awaitable_fields[0]
            results[field] = await results[field]
            return results
        awaited = await gather_with_cancel(*(results[field] for field in awaitable_fields))
        results.update(zip(awaitable_fields, awaited, strict=True))
        return results
