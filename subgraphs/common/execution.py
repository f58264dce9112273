"""Error shaping, and the short way through Strawberry for documents a subgraph has already checked.

Every request used to pay Strawberry's whole operation pipeline: a fresh instance of each
schema extension, an async context manager per extension and per phase (operation,
parsing, validation, execution), parsing and validation. Parsing and validation are now
done once per document text (:class:`subgraphs.common.limits.DocumentCache`); for a document
found there (it passed them), :func:`execute_prepared` runs graphql-core's execution directly
and shapes its errors as :class:`subgraphs.common.graphql.ShapeErrors` would, which is all the
extensions do for such a document: the limits and validation passed when it was cached,
authorization lives in the wrapped resolvers (installed on the first operation), and the
tracing extension only acts while a tracer is active (then the full pipeline runs).

Anything else (a new or invalid document, a subscription, an operation the HTTP method does
not allow, a missing operation name, a traced request) takes Strawberry's own path unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import DirectiveNode, DocumentNode, GraphQLError, VariableNode, Visitor, get_operation_ast, visit
from graphql.execution import ExecutionResult as GraphQLExecutionResult
from sqlalchemy.exc import DBAPIError
from strawberry.execution import optimized_is_awaitable
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.utils.await_maybe import await_maybe

from gateway.telemetry.tracing import ACTIVE_TRACER
from subgraphs.common.authz import INSTALLED
from subgraphs.common.errors import DomainError
from subgraphs.common.ids import new_id
from subgraphs.common.limits import documents_of

if TYPE_CHECKING:
    import strawberry

log = logging.getLogger("dpp.graphql")

__all__ = ["Prepared", "execute_prepared", "prepared_operation", "shape_error"]


def shape_error(
    error: GraphQLError, context: Any, variables: Mapping[str, Any] | None, document: DocumentNode | None
) -> GraphQLError:
    """``error`` with a stable ``extensions.code``; unexpected errors logged and masked.

    Domain errors keep their message and code. Parse and validation errors get
    GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED. A database connection lost during the
    request is DATABASE_UNAVAILABLE (retryable). Anything else is logged with a correlation id
    and reaches the client only as INTERNAL_SERVER_ERROR with that id.
    """
    original = error.original_error
    if isinstance(original, DomainError):
        return GraphQLError(
            original.message,
            error.nodes,
            error.source,
            error.positions,
            error.path,
            extensions=original.as_extensions(),
        )
    if original is None:
        if error.extensions and "code" in error.extensions:
            return error
        code = "GRAPHQL_PARSE_FAILED" if error.message.startswith("Syntax Error") else "GRAPHQL_VALIDATION_FAILED"
        return GraphQLError(
            error.message,
            error.nodes,
            error.source,
            error.positions,
            error.path,
            extensions={**(error.extensions or {}), "code": code},
        )
    if isinstance(original, GraphQLError):
        # graphql-core refusing a value during execution (a null `if` of @skip/@include,
        # a variable's default that coercion rejects): the request's fault, told as it is.
        return GraphQLError(
            _null_condition(error, variables, document) or original.message,
            error.nodes,
            error.source,
            error.positions,
            error.path,
            extensions={"code": "BAD_USER_INPUT"},
        )
    correlation_id = getattr(context, "correlation_id", None) or new_id()
    if isinstance(original, DBAPIError) and original.connection_invalidated:
        # the database went away under the request (a restart, a failover, a killed backend): the pool
        # has dropped the connection and the next request opens a new one, so say "retry", not "bug"
        log.warning("database connection lost at %s (correlation id %s): %s", error.path, correlation_id, original)
        return GraphQLError(
            f"The database connection was lost; retry the request (correlation id {correlation_id})",
            error.nodes,
            error.source,
            error.positions,
            error.path,
            extensions={"code": "DATABASE_UNAVAILABLE", "correlationId": correlation_id},
        )
    log.error("unexpected error at %s (correlation id %s)", error.path, correlation_id, exc_info=original)
    return GraphQLError(
        f"Internal server error (correlation id {correlation_id})",
        error.nodes,
        error.source,
        error.positions,
        error.path,
        extensions={"code": "INTERNAL_SERVER_ERROR", "correlationId": correlation_id},
    )


def _null_condition(
    error: GraphQLError, variables: Mapping[str, Any] | None, document: DocumentNode | None
) -> str | None:
    """The message for a @skip/@include whose ``if`` variable is null, when that is the error."""
    values = variables or {}
    if document is None or "Boolean!" not in error.message:
        return None
    found: list[str] = []

    class NullCondition(Visitor):
        def enter_directive(self, node: DirectiveNode, *_args: Any) -> None:
            if node.name.value not in ("skip", "include") or found:
                return
            for argument in node.arguments or ():
                value = argument.value
                if argument.name.value == "if" and isinstance(value, VariableNode):
                    name = value.name.value
                    if name in values and values[name] is None:
                        found.append(f"@{node.name.value}(if: ${name}) needs true or false, but ${name} is null")

    visit(document, NullCondition())
    return found[0] if found else None


@dataclass(frozen=True, slots=True)
class Prepared:
    """A cached, valid document and the operation of it a request runs."""

    document: DocumentNode
    operation: OperationType


# Strawberry's operation types by graphql-core's.
_OPERATION_TYPES = {kind.value: kind for kind in OperationType}


def prepared_operation(
    schema: strawberry.Schema,
    query: str | None,
    operation_name: str | None,
    allowed: Iterable[OperationType],
) -> Prepared | None:
    """The cached valid document of ``query`` when the short way may run it, else None.

    It may when the document is in the schema's cache (so it is valid), names (or holds
    exactly one) operation that is a query or mutation among ``allowed``, no tracer is
    active, the schema's authorization is installed and the schema has no custom
    operation directives (whose Strawberry extension the short way would skip).
    """
    documents = documents_of(schema)
    if documents is None or not query or ACTIVE_TRACER.get() is not None:
        return None
    cached = documents.get(query)
    if cached is None:
        return None
    if schema.directives or schema._schema.extensions.get(INSTALLED) is None:
        return None
    if schema.config.enable_experimental_incremental_execution:
        return None
    operation = get_operation_ast(cached.document, operation_name)
    if operation is None:
        return None
    kind = _OPERATION_TYPES.get(operation.operation.value)
    if kind is None or kind is OperationType.SUBSCRIPTION or kind not in allowed:
        return None
    return Prepared(cached.document, kind)


async def execute_prepared(
    schema: strawberry.Schema,
    prepared: Prepared,
    *,
    context: Any,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    root_value: Any = None,
    operation_extensions: dict[str, Any] | None = None,
) -> ExecutionResult:
    """Execute ``prepared`` with graphql-core as Strawberry would, errors shaped."""
    document = prepared.document
    try:
        result = await await_maybe(
            schema._get_execute_function()(
                schema._schema,
                document,
                root_value=root_value,
                variable_values=variables,
                operation_name=operation_name,
                context_value=context,
                is_awaitable=optimized_is_awaitable,
                executor_class=schema.execution_context_class,
                operation_extensions=operation_extensions,
            )
        )
    except Exception as exc:
        error = exc if isinstance(exc, GraphQLError) else GraphQLError(str(exc), original_error=exc)
        return ExecutionResult(data=None, errors=[shape_error(error, context, variables, document)])
    assert isinstance(result, GraphQLExecutionResult)
    errors = [shape_error(e, context, variables, document) for e in result.errors] if result.errors else None
    return ExecutionResult(data=result.data, errors=errors)
