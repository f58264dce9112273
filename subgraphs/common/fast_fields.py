"""Plain data completed without graphql-core's per-field and per-object machinery.

A listing answers thousands of fields on hundreds of objects (a dashboard page of 50 passports:
~960 objects, ~3,500 leaves). For each leaf graphql-core builds a path, a resolve info and a
node list, calls Strawberry's resolver (which calls ``getattr``), checks the result for
awaitability and walks ``complete_value`` down to ``coerce_output_value``; for each object of a
list it goes through ``complete_list_item_value``, ``complete_value``, ``complete_object_value``,
``collect_and_execute_subfields`` and ``execute_collected_subfields`` before ``execute_fields``.

:class:`FastFieldsExecutor` follows a :class:`~subgraphs.common.fast_plans.Plan` per selection set
instead (decided once per execution, see :mod:`subgraphs.common.fast_plans`):

* plain data leaves are read, coerced and stored in one step (the authorization guard, when
  the field has one, was checked for the caller when the plan was made);
* ``__typename`` is the type's name;
* a plain object field (data, no resolver) is read and completed without a resolver call;
* a list of objects of one type (no interface or union), whatever resolved it, is completed in one
  loop; when the selection holds only leaves and ``__typename``, each object's answer is built
  right there, without a path, an ``execute_fields`` call or anything per field;
* a list of a Strawberry union (``_entities``) is completed in one loop as well (see
  :mod:`subgraphs.common.fast_abstract`).

Whatever needs reporting (a caller a guard denies, a null in a non-null field, a value the type
cannot coerce, an attribute that raises or holds an exception, an item that is null, an error or
awaitable) goes through graphql-core's own path for that field or item, which reads again and
reports it exactly as before: answers and errors do not change. Anything unusual (middleware,
``@defer``/``@stream``, interfaces, types with ``is_type_of``, iterables that are not lists)
is left to graphql-core entirely.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLOutputType, Undefined
from graphql.execution.executor import collect_iterator_awaitables, to_nodes
from graphql.pyutils import Path, gather_with_cancel

from subgraphs.common.fast_abstract import NOT_HERE, FastAbstractExecutor, strawberry_union
from subgraphs.common.fast_build import leaves_builder
from subgraphs.common.fast_helpers import weak_helpers
from subgraphs.common.fast_plans import (
    FAST_FIELDS,
    LEAF_KINDS,
    METHOD,
    OBJECT,
    SLOW,
    TYPENAME,
    Plan,
    Step,
    build_plan,
    leaf_value,
    plain_leaf,
)

__all__ = ["FAST_FIELDS", "FastFieldsExecutor", "plain_leaf"]

_PLANS = "_dpp_plans"  # this executor's plans: {id(grouped field set): (grouped field set, type, plan)}
_MISSING = object()


def _leaves(plan: Plan, source: Any) -> dict[str, Any] | None:
    """The answer of an object whose selection holds only leaves, or None when one needs graphql-core."""
    if plan.build is not None:
        return plan.build(source)
    data: dict[str, Any] = {}
    for step in plan.steps:
        if step.kind == TYPENAME:
            data[step.response_name] = step.typename
            continue
        value = leaf_value(step, source)
        if value is SLOW:
            return None
        data[step.response_name] = value
    return data


class FastFieldsExecutor(FastAbstractExecutor):
    """Strawberry's executor, with plain data completed the short way (see the module docstring).

    It holds no reference cycle through itself (:mod:`subgraphs.common.fast_helpers`), so a
    request's executor, context and plans are freed by reference counting when the request ends.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.async_helpers = weak_helpers(self)

    def build_per_event_executor(self, payload: Any) -> Any:
        """graphql-core's copy per subscription event, with helpers of its own (held weakly)."""
        executor = super().build_per_event_executor(payload)
        executor.async_helpers = weak_helpers(executor)
        return executor

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> Plan | None:
        if self.middleware_manager:
            return None
        plans: dict[int, tuple[Any, GraphQLObjectType, Plan | None]] | None = self.__dict__.get(_PLANS)
        if plans is None:
            plans = self.__dict__[_PLANS] = {}
        known = plans.get(id(grouped_field_set))
        if known is not None and known[0] is grouped_field_set and known[1] is parent_type:
            return known[2]
        plan = build_plan(self.schema, parent_type, grouped_field_set, self.context_value)
        if plan is not None and plan.leaves_only:
            plan.build = leaves_builder(self.schema, plan.steps)
        plans[id(grouped_field_set)] = (grouped_field_set, parent_type, plan)  # kept alive: its id stays its own
        return plan

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's ``execute_fields``, following the selection's plan."""
        plan = self._plan(parent_type, grouped_field_set)
        if plan is None:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for step in plan.steps:
                kind, response_name = step.kind, step.response_name
                if kind <= LEAF_KINDS:
                    value = leaf_value(step, source_value)
                    if value is not SLOW:
                        results[response_name] = value
                        continue
                elif kind == TYPENAME:
                    results[response_name] = step.typename
                    continue
                elif kind == METHOD:
                    result = self._call_method(parent_type, step, source_value, path, position_context)
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
                    continue
                elif kind == OBJECT:
                    value = getattr(source_value, step.attribute, _MISSING)
                    if value is not _MISSING and value is not Undefined and not is_awaitable(value):
                        result = self._complete_field(parent_type, step, path, value, position_context)
                        results[response_name] = result
                        if is_awaitable(result):
                            awaitable_fields.append(response_name)
                        continue
                result = self.execute_field(
                    parent_type,
                    source_value,
                    step.field_details,
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

    def _complete_field(
        self, parent_type: GraphQLObjectType, step: Step, path: Path | None, value: Any, position: Any
    ) -> Any:
        """``execute_field`` after its resolver, for a plain object field whose value is ``value``."""
        field_details, field = step.field_details, step.field
        return_type = field.type
        field_path = Path(path, step.response_name, parent_type.name)
        info = self.build_resolve_info(field, to_nodes(field_details), parent_type, field_path)
        try:
            completed = self.complete_value(return_type, field_details, info, field_path, value, position)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details, field_path)
            return None
        if self.is_awaitable(completed):
            return self._await_completed(completed, return_type, field_details, field_path)
        return completed

    def _call_method(
        self, parent_type: GraphQLObjectType, step: Step, source: Any, path: Path | None, position: Any
    ) -> Any:
        """``execute_field`` of a plain method resolver: the method called with the source only."""
        field_details, field = step.field_details, step.field
        return_type = field.type
        field_path = Path(path, step.response_name, parent_type.name)
        info = self.build_resolve_info(field, to_nodes(field_details), parent_type, field_path)
        try:
            result = step.function(source)
            if self.is_awaitable(result):
                return self.complete_awaitable_value(return_type, field_details, info, field_path, result, position)
            completed = self.complete_value(return_type, field_details, info, field_path, result, position)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details, field_path)
            return None
        if self.is_awaitable(completed):
            return self._await_completed(completed, return_type, field_details, field_path)
        return completed

    async def _await_completed(
        self, completed: Awaitable[Any], return_type: GraphQLOutputType, field_details: Any, path: Path
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details, path)
            return None

    async def _gather(self, results: dict[str, Any], awaitable_fields: list[str]) -> dict[str, Any]:
        if len(awaitable_fields) == 1:
            field = awaitable_fields[0]
            results[field] = await results[field]
            return results
        awaited = await gather_with_cancel(*(results[field] for field in awaitable_fields))
        results.update(zip(awaitable_fields, awaited, strict=True))
        return results

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: Any,
        info: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's ``complete_value``, with objects and lists of objects completed the short way."""
        if position_context is None and result is not None and result is not Undefined:
            inner = return_type.of_type if type(return_type) is GraphQLNonNull else return_type
            if type(inner) is GraphQLObjectType:
                if inner.is_type_of is None and not isinstance(result, Exception):
                    completed = self._complete_object(inner, field_details_list, path, result)
                    if completed is not _MISSING:
                        return completed
            elif type(inner) is GraphQLList and type(result) is list:
                item_type = inner.of_type
                named = item_type.of_type if type(item_type) is GraphQLNonNull else item_type
                if type(named) is GraphQLObjectType and named.is_type_of is None and not _streamed(field_details_list):
                    completed = self._complete_objects(item_type, named, field_details_list, info, path, result)
                    if completed is not _MISSING:
                        return completed
                elif strawberry_union(named) and not _streamed(field_details_list):
                    completed = self._complete_union_items(item_type, named, field_details_list, info, path, result)
                    if completed is not NOT_HERE:
                        return completed
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        info: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's ``complete_object_value`` (reached from an interface or union), the short way."""
        if position_context is None and return_type.is_type_of is None:
            completed = self._complete_object(return_type, field_details_list, path, result)
            if completed is not _MISSING:
                return completed
        return super().complete_object_value(return_type, field_details_list, info, path, result, position_context)

    def _complete_object(self, object_type: GraphQLObjectType, field_details_list: Any, path: Path, result: Any) -> Any:
        """``complete_object_value`` of a type without ``is_type_of``; _MISSING when deferred parts need it."""
        grouped_field_set, new_defer_usages, _forbidden = self.collect_subfields(object_type, field_details_list)
        if new_defer_usages:
            return _MISSING
        plan = self._plan(object_type, grouped_field_set)
        if plan is not None and plan.leaves_only:
            data = _leaves(plan, result)
            if data is not None:
                return data
        return self.execute_fields(object_type, result, path, grouped_field_set, None)

    def _complete_objects(
        self,
        item_type: GraphQLOutputType,
        object_type: GraphQLObjectType,
        field_details_list: Any,
        info: Any,
        path: Path,
        items: list[Any],
    ) -> Any:
        """``complete_iterable_value`` of a list of one object type, in one loop (_MISSING: not here)."""
        grouped_field_set, new_defer_usages, _forbidden = self.collect_subfields(object_type, field_details_list)
        if new_defer_usages:
            return _MISSING
        plan = self._plan(object_type, grouped_field_set)
        leaves_only = plan is not None and plan.leaves_only
        is_awaitable = self.is_awaitable
        execute_fields = self.execute_fields
        completed: list[Any] = []
        append = completed.append
        awaitable_indices: list[int] = []
        iterator = iter(items)
        index = 0
        try:
            for item in iterator:
                if item is None or isinstance(item, Exception):  # graphql-core's path reports (or nulls) it
                    item_path = path.add_key(index, None)
                    self.complete_list_item_value(item, completed, item_type, field_details_list, info, item_path, None)
                    index += 1
                    continue
                waits = is_awaitable(item)
                if leaves_only and not waits:
                    leaves = _leaves(plan, item)  # type: ignore[arg-type]
                    if leaves is not None:
                        append(leaves)
                        index += 1
                        continue
                item_path = path.add_key(index, None)
                if waits:
                    append(
                        self.complete_awaitable_list_item_value(
                            item, item_type, field_details_list, info, item_path, None
                        )
                    )
                    awaitable_indices.append(index)
                else:
                    try:
                        data: Any = execute_fields(object_type, item, item_path, grouped_field_set, None)
                    except Exception as raw_error:
                        self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                        data = None
                    if is_awaitable(data):
                        data = self._await_completed(data, item_type, field_details_list, item_path)
                        awaitable_indices.append(index)
                    append(data)
                index += 1
        except Exception:
            pending = [completed[i] for i in awaitable_indices]
            pending.extend(collect_iterator_awaitables(iterator, is_awaitable))
            if pending:
                self.settle_in_background(pending)
            raise
        if not awaitable_indices:
            return completed
        return self._gather_items(completed, awaitable_indices)

    async def _gather_items(self, completed: list[Any], awaitable_indices: list[int]) -> list[Any]:
        if len(awaitable_indices) == 1:
            index = awaitable_indices[0]
            completed[index] = await completed[index]
            return completed
        awaited = await gather_with_cancel(*(completed[index] for index in awaitable_indices))
        for index, value in zip(awaitable_indices, awaited, strict=True):
            completed[index] = value
        return completed


def _streamed(field_details_list: Any) -> bool:
    """Whether the field carries ``@stream`` (graphql-core reads it from the first node only)."""
    return any(directive.name.value == "stream" for directive in field_details_list[0].node.directives or ())
