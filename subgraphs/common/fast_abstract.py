"""Lists of a Strawberry union (``_entities``) completed in one loop: see :class:`FastAbstractExecutor`.

graphql-core completes each item of ``_entities: [_Entity]!`` through ``complete_list_item_value``,
``complete_value``, ``complete_abstract_value`` (the union's type resolution) and
``complete_object_value``; an awaitable item (the coroutine of an async ``resolve_reference``,
awaiting a dataloader) first through ``complete_awaitable_list_item_value`` and
``with_abort_signal``, one task each. Here each item's runtime type is resolved by the union's
own resolver (Strawberry's, called as graphql-core calls it; its errors and graphql-core's checks
of the name it returns are reported for that item as before), then the object is completed by
``complete_object_value`` (the fast path's plan when the type has one); awaitable items are awaited
together in this task (:func:`subgraphs.common.fast_gather.run_together`). A null or error item,
and a value an awaitable item resolves to that is null or an error, take graphql-core's own
``complete_list_item_value``. Lists of interfaces, unions with another resolver, ``@stream`` and
executions with an abort signal are left to graphql-core.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from graphql import GraphQLObjectType, GraphQLOutputType, GraphQLUnionType
from graphql.execution.executor import collect_iterator_awaitables
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.info import Info

from subgraphs.common.fast_gather import run_together

__all__ = ["NOT_HERE", "FastAbstractExecutor", "strawberry_union"]

NOT_HERE = object()  # the list is graphql-core's to complete
_UNION_RESOLVER = "StrawberryUnion.get_type_resolver.<locals>._resolve_union_type"


def strawberry_union(type_: Any) -> bool:
    """Whether ``type_`` is a union whose runtime types Strawberry's union resolver names."""
    if type(type_) is not GraphQLUnionType:
        return False
    return getattr(type_.resolve_type, "__qualname__", None) == _UNION_RESOLVER


class _Items:
    """One list being completed: what each of its items needs (per list, dropped with it)."""

    __slots__ = ("completed", "completing", "field_details", "info", "item_type", "path", "resolve", "types", "union")

    def __init__(
        self, item_type: GraphQLOutputType, union: GraphQLUnionType, field_details: Any, info: Any, path: Path
    ) -> None:
        self.item_type = item_type
        self.union = union
        self.resolve: Callable[..., Any] = union.resolve_type  # type: ignore[assignment]
        self.field_details = field_details
        self.info = info
        self.path = path
        self.types: dict[str, GraphQLObjectType] = {}  # runtime type names already checked
        self.completed: list[Any] = []
        self.completing: set[int] = set()  # awaitable items resolved, their completion awaited


class FastAbstractExecutor(StrawberryGraphQLCoreExecutionContext):
    """Completes lists of a Strawberry union in one loop (see the module docstring)."""

    def execute_field(
        self, parent_type: GraphQLObjectType, source: Any, field_details: Any, path: Path, position: Any
    ) -> Any:
        """graphql-core's ``execute_field``; after ``_entities``, its representations let go of the info.

        Strawberry's ``entities_resolver`` passes a resolve_reference that takes ``info`` the
        representation itself as keyword arguments, with ``info`` written into it: the request's
        variables then hold the info, which holds the variables (a reference cycle per request,
        collected only by the cyclic collector). Once the resolver has run, the key is not read
        again: it is removed (only when it holds a Strawberry ``Info``, not a client's value).
        """
        result = super().execute_field(parent_type, source, field_details, path, position)
        if path.prev is None and field_details[0].node.name.value == "_entities":
            _forget_info(self.variable_values.coerced)
        return result

    def _complete_union_items(
        self,
        item_type: GraphQLOutputType,
        union: GraphQLUnionType,
        field_details: Any,
        info: Any,
        path: Path,
        items: list[Any],
    ) -> Any:
        """``complete_iterable_value`` of a list of ``union`` (NOT_HERE: graphql-core's)."""
        if self.abort_signal is not None:
            return NOT_HERE
        state = _Items(item_type, union, field_details, info, path)
        completed = state.completed
        is_awaitable = self.is_awaitable
        jobs: list[tuple[int, Awaitable[Any]]] = []
        iterator = iter(items)
        index = 0
        try:
            for item in iterator:
                if item is None or isinstance(item, Exception):
                    self.complete_list_item_value(
                        item, completed, item_type, field_details, info, path.add_key(index, None), None
                    )
                elif is_awaitable(item):
                    completed.append(None)
                    jobs.append((index, item))
                else:
                    data = self._union_item(state, index, item)
                    completed.append(data)
                    if is_awaitable(data):
                        state.completing.add(index)
                        jobs.append((index, data))
                index += 1
        except Exception:
            pending = [job for _index, job in jobs]
            pending.extend(collect_iterator_awaitables(iterator, is_awaitable))
            if pending:
                self.settle_in_background(pending)
            raise
        if not jobs:
            return completed
        return self._await_union_items(state, jobs)

    def _union_item(self, state: _Items, index: int, item: Any) -> Any:
        """One item (neither null, an error nor awaitable): its type resolved, its object completed."""
        item_path = state.path.add_key(index, None)
        try:
            runtime = state.resolve(item, state.info, state.union)
            object_type = state.types.get(runtime) if type(runtime) is str else None
            if object_type is None:
                object_type = self.ensure_valid_runtime_type(
                    runtime, state.union, state.field_details, state.info, item
                )
                if type(runtime) is str:
                    state.types[runtime] = object_type
            completed = self.complete_object_value(object_type, state.field_details, state.info, item_path, item, None)
        except Exception as raw_error:
            self.handle_field_error(raw_error, state.item_type, state.field_details, item_path)
            return None
        if self.is_awaitable(completed):
            return self._item_awaited(completed, state.item_type, state.field_details, item_path)
        return completed

    async def _item_awaited(self, completed: Awaitable[Any], item_type: Any, field_details: Any, path: Path) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, field_details, path)
            return None

    async def _await_union_items(self, state: _Items, jobs: list[tuple[int, Awaitable[Any]]]) -> list[Any]:
        completed = state.completed
        completing = state.completing

        def finished(index: int, value: Any, error: Exception | None) -> Awaitable[Any] | None:
            if index in completing:  # the item's completion: its errors were handled there
                if error is not None:
                    raise error
                completed[index] = value
                return None
            item_path = state.path.add_key(index, None)
            if error is not None:
                self.handle_field_error(error, state.item_type, state.field_details, item_path)
                completed[index] = None
                return None
            if value is None or isinstance(value, Exception) or self.is_awaitable(value):
                holder: list[Any] = []
                self.complete_list_item_value(
                    value, holder, state.item_type, state.field_details, state.info, item_path, None
                )
                data = holder[0]
            else:
                data = self._union_item(state, index, value)
            if self.is_awaitable(data):
                completing.add(index)
                return data  # type: ignore[no-any-return]
            completed[index] = data
            return None

        await run_together(jobs, finished, self.settle_in_background)
        return completed


def _forget_info(variables: dict[str, Any]) -> None:
    """Remove the ``info`` Strawberry wrote into representations held by ``variables``."""
    for value in variables.values():
        if type(value) is list:
            for representation in value:
                if type(representation) is dict and isinstance(representation.get("info"), Info):
                    del representation["info"]
