"""The GraphQL layer every subgraph shares: schema defaults, error shaping, the HTTP view."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
import strawberry
from cross_web import HTTPException
from graphql import DirectiveNode, GraphQLError, VariableNode, Visitor, visit
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.extensions import SchemaExtension
from strawberry.types.unset import UNSET

from subgraphs.common.audit import correlation_id_from
from subgraphs.common.authz import Authorize
from subgraphs.common.caller import caller_from_headers
from subgraphs.common.context import RequestContext
from subgraphs.common.errors import DomainError
from subgraphs.common.ids import new_id
from subgraphs.common.limits import SUBGRAPH_LIMITS, OperationLimitsExtension
from subgraphs.common.service import ServiceRuntime
from subgraphs.common.subscriptions_stream import describe_event
from subgraphs.common.tracing import TraceOperation

log = logging.getLogger("dpp.graphql")

# tokens, depth, height, aliases, root fields, directives, fragments, introspection (graphql_limits)
LIMITS = SUBGRAPH_LIMITS


class ShapeErrors(SchemaExtension):
    """Gives every error a stable ``extensions.code`` and masks unexpected ones.

    Domain errors keep their message and code. Parse and validation errors get
    GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED. Anything else is logged
    with a correlation id and reaches the client only as INTERNAL_SERVER_ERROR
    with that id, never with a traceback or internal detail.
    """

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [self._shape(error) for error in errors]
        pre_errors = self.execution_context.pre_execution_errors
        if pre_errors:
            self.execution_context.pre_execution_errors = [self._shape(e) for e in pre_errors]

    def on_stream_result(self, result: Any) -> Iterator[None]:
        """Each result of a subscription stream: shaped as an operation's, with ``extensions.event``."""
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [self._shape(error) for error in errors]
        describe_event(result)
        yield

    def _shape(self, error: GraphQLError) -> GraphQLError:
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
                self._null_condition(error) or original.message,
                error.nodes,
                error.source,
                error.positions,
                error.path,
                extensions={"code": "BAD_USER_INPUT"},
            )
        context = self.execution_context.context
        correlation_id = getattr(context, "correlation_id", None) or new_id()
        log.error("unexpected error at %s (correlation id %s)", error.path, correlation_id, exc_info=original)
        return GraphQLError(
            f"Internal server error (correlation id {correlation_id})",
            error.nodes,
            error.source,
            error.positions,
            error.path,
            extensions={"code": "INTERNAL_SERVER_ERROR", "correlationId": correlation_id},
        )

    def _null_condition(self, error: GraphQLError) -> str | None:
        """The message for a @skip/@include whose ``if`` variable is null, when that is the error."""
        variables = self.execution_context.variables or {}
        document = self.execution_context.graphql_document
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
                        if name in variables and variables[name] is None:
                            found.append(f"@{node.name.value}(if: ${name}) needs true or false, but ${name} is null")

        visit(document, NullCondition())
        return found[0] if found else None


class SubgraphSchema(strawberry.federation.Schema):
    """A federation schema that leaves error logging to :class:`ShapeErrors`."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Errors are logged (when unexpected) by :class:`ShapeErrors`, not here."""


def build_schema(
    *,
    query: type,
    mutation: type | None = None,
    subscription: type | None = None,
    types: Iterable[type] = (),
    **kwargs: Any,
) -> SubgraphSchema:
    """A Federation v2 schema with the shared limits and error shaping."""
    return SubgraphSchema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        types=list(types),
        extensions=[
            ShapeErrors,
            TraceOperation,  # a span per operation when the request is traced (subgraphs/common/tracing.py)
            Authorize,  # the schema's @authenticated / @requiresScopes / @policy, checked here too
            # Factories, so that each request gets its own extension instances.
            # One linear pass over the document, before validation (subgraphs/common/limits.py).
            lambda: OperationLimitsExtension(LIMITS),
        ],
        **kwargs,
    )


def error_response(status: int, message: str, code: str) -> Response:
    """A GraphQL-shaped error body outside execution (bad credentials, for instance)."""
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


# HTTP status of a request refused before execution, by the error code of the refusal.
_AUTH_STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "AUTHENTICATION_UNAVAILABLE": 503}


class SubgraphGraphQL(GraphQL):
    """Strawberry's ASGI view with our context, credentials check, metrics and cleanup."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        super().__init__(runtime.definition.schema_factory(), graphql_ide=None, allow_queries_via_get=True)
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        started = time.perf_counter()
        request = Request(scope, receive)
        correlation_id = correlation_id_from(request.headers.get("x-request-id"))
        try:
            caller = await caller_from_headers(request.headers, self.runtime.auth)
        except DomainError as exc:
            status = _AUTH_STATUS.get(exc.code, 401)
            response = error_response(status, exc.message, exc.code)
            if status == 503:
                response.headers["retry-after"] = "1"
            await response(scope, receive, send)
            self.runtime.metrics.observe_request(time.perf_counter() - started, exc.code.lower())
            return
        context = RequestContext(
            caller=caller,
            database=self.runtime.database,
            settings=self.runtime.settings,
            service=self.runtime,
            correlation_id=correlation_id,
            request=request,
        )
        scope.setdefault("state", {})["dpp_context"] = context
        outcome = "ok"
        try:
            await super().__call__(scope, receive, send)
        except Exception:
            outcome = "error"
            raise
        finally:
            await context.aclose()
            self.runtime.metrics.observe_request(time.perf_counter() - started, outcome)

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        """Strawberry's request handling, with its HTTP refusals as GraphQL errors with a code.

        A body that is not JSON, a request without a query or a mutation over GET would
        otherwise answer a plain-text 400 that no GraphQL client can read a code from.
        """
        try:
            return await super().run(request, context, root_value)
        except HTTPException as exc:
            return error_response(exc.status_code, exc.reason, "BAD_REQUEST")

    async def get_context(self, request: Request, response: Any) -> RequestContext:  # type: ignore[override]
        """The context prepared in ``__call__`` for this request."""
        return request.state.dpp_context

    def encode_json(self, data: object) -> str:
        """orjson is several times faster than the standard library here."""
        return orjson.dumps(data).decode()
