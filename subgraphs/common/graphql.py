"""The GraphQL layer every subgraph shares: schema defaults, error shaping, the HTTP view."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
import strawberry
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.extensions import SchemaExtension
from strawberry.http import process_result
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET

from subgraphs.common.audit import correlation_id_from
from subgraphs.common.authz import Authorize
from subgraphs.common.caller import caller_from_headers
from subgraphs.common.context import RequestContext
from subgraphs.common.errors import DomainError
from subgraphs.common.execution import execute_prepared, prepared_operation, shape_error
from subgraphs.common.fast_fields import FastFieldsExecutor
from subgraphs.common.limits import DOCUMENTS_ATTRIBUTE, SUBGRAPH_LIMITS, DocumentCache, OperationLimitsExtension
from subgraphs.common.service import ServiceRuntime
from subgraphs.common.subscriptions_stream import describe_event
from subgraphs.common.tracing import TraceOperation

# tokens, depth, height, aliases, root fields, directives, fragments, introspection (graphql_limits)
LIMITS = SUBGRAPH_LIMITS


class ShapeErrors(SchemaExtension):
    """Gives every error a stable ``extensions.code`` and masks unexpected ones (:func:`shape_error`).

    Domain errors keep their message and code. Parse and validation errors get
    GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED. Anything else is logged
    with a correlation id and reaches the client only as INTERNAL_SERVER_ERROR
    with that id, never with a traceback or internal detail.
    """

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        result = context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [self._shape(error) for error in errors]
        pre_errors = context.pre_execution_errors
        if pre_errors:
            context.pre_execution_errors = [self._shape(e) for e in pre_errors]

    def on_stream_result(self, result: Any) -> Iterator[None]:
        """Each result of a subscription stream: shaped as an operation's, with ``extensions.event``."""
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [self._shape(error) for error in errors]
        describe_event(result)
        yield

    def _shape(self, error: GraphQLError) -> GraphQLError:
        context = self.execution_context
        return shape_error(error, context.context, context.variables, context.graphql_document)


class SubgraphSchema(strawberry.federation.Schema):
    """A federation schema that leaves error logging to :class:`ShapeErrors`.

    A document already parsed and validated (:mod:`subgraphs.common.limits`) is executed
    the short way (:mod:`subgraphs.common.execution`); anything else takes Strawberry's path.
    """

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Errors are logged (when unexpected) by :class:`ShapeErrors`, not here."""

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """Strawberry's ``execute``, without its per-request pipeline for documents known valid."""
        allowed = DEFAULT_ALLOWED_OPERATION_TYPES if allowed_operation_types is None else allowed_operation_types
        prepared = prepared_operation(self, query, operation_name, allowed)
        if prepared is None:
            return await super().execute(
                query,
                variable_values,
                context_value,
                root_value,
                operation_name,
                allowed_operation_types,
                operation_extensions,
            )
        return await execute_prepared(
            self,
            prepared,
            context=context_value,
            variables=variable_values,
            operation_name=operation_name,
            root_value=root_value,
            operation_extensions=operation_extensions,
        )


def build_schema(
    *,
    query: type,
    mutation: type | None = None,
    subscription: type | None = None,
    types: Iterable[type] = (),
    **kwargs: Any,
) -> SubgraphSchema:
    """A Federation v2 schema with the shared limits and error shaping."""
    # plain data leaves completed without graphql-core's per-field machinery (subgraphs/common/fast_fields.py)
    kwargs.setdefault("execution_context_class", FastFieldsExecutor)
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


# What a POST may run the short way (a subscription over POST streams: Strawberry's view).
_POST_OPERATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` that first hands out ``body`` again (it was read before the view runs)."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


# HTTP status of a request refused before execution, by the error code of the refusal.
_AUTH_STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "AUTHENTICATION_UNAVAILABLE": 503}


class SubgraphGraphQL(GraphQL):
    """Strawberry's ASGI view with our context, credentials check, metrics and cleanup."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        schema = runtime.definition.schema_factory()
        super().__init__(schema, graphql_ide=None, allow_queries_via_get=True)
        self.runtime = runtime
        self._subgraph_schema = schema
        # Parsed and validated documents by text (subgraphs/common/limits.py), also on the runtime for tests.
        documents = DocumentCache(runtime.settings.document_cache_size)
        setattr(schema, DOCUMENTS_ATTRIBUTE, documents)
        runtime.extra[DOCUMENTS_ATTRIBUTE] = documents

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
            body = await request.body()
            answer = await self._short_way(request, body, context)
            if answer is not None:
                await answer(scope, receive, send)
            else:
                await super().__call__(scope, _replay(body, receive), send)
        except Exception:
            outcome = "error"
            raise
        finally:
            await context.aclose()
            # reference cycles per request for the cyclic collector, unless broken once answered:
            # the scope holds the context, which holds the request, which holds the scope; the
            # context holds its dataloaders, whose batch functions may close over the context
            scope["state"].pop("dpp_context", None)
            context.loaders.clear()
            self.runtime.metrics.observe_request(time.perf_counter() - started, outcome)

    async def _short_way(self, request: Request, body: bytes, context: RequestContext) -> Response | None:
        """The answer to a JSON POST of a document already checked (:mod:`subgraphs.common.execution`).

        None for anything else (GET, another content type, a stream or a batch, a new or invalid
        document...): Strawberry's view handles those, and fills the document cache.
        """
        if request.method != "POST" or self._get_stream_transport_from_headers(request.headers) is not None:
            return None
        if request.headers.get("content-type", "").partition(";")[0].strip().lower() != "application/json":
            return None
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(data, dict):
            return None
        query, variables = data.get("query"), data.get("variables")
        operation_name, extensions = data.get("operationName"), data.get("extensions")
        if not (
            isinstance(query, str)
            and isinstance(variables, dict | None)
            and isinstance(operation_name, str | None)
            and isinstance(extensions, dict | None)
        ):
            return None
        prepared = prepared_operation(self._subgraph_schema, query, operation_name, _POST_OPERATIONS)
        if prepared is None:
            return None
        result = await execute_prepared(
            self._subgraph_schema,
            prepared,
            context=context,
            variables=variables,
            operation_name=operation_name,
            operation_extensions=extensions,
        )
        return Response(orjson.dumps(process_result(result)), media_type="application/json")

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
