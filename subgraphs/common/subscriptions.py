"""The WebSocket side of a subgraph's ``/graphql``: graphql-transport-ws with our authentication.

Strawberry runs the protocol (``connection_init`` / ``subscribe`` / ``next`` / ``complete``, ping/pong,
the 4400/4401/4408/4409/4429 close codes). This view adds what HTTP requests get in
:class:`~subgraphs.common.graphql.SubgraphGraphQL`:

* the caller: ``connection_init``'s payload ``{"authorization": "Bearer <jwt>", "x-tenant-id": ...,
  "x-request-id": ...}`` (lower-case keys; the upgrade request's headers of the same names count too,
  the payload wins), verified exactly as an HTTP request's headers are. No authorization: anonymous
  (public subscriptions only). A token that is refused, a tenant the caller is not a member of, or
  identity out of reach: close 4403 "Forbidden";
* the context: a :class:`~subgraphs.common.subscriptions_stream.ConnectionContext` whose session and
  dataloaders belong to the event being executed.

Only ``graphql-transport-ws`` is spoken; a client asking for the legacy ``graphql-ws`` (or nothing)
is closed with 4406 "Subprotocol not acceptable".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler, Operation
from strawberry.types.unset import UNSET, UnsetType

from subgraphs.common.audit import correlation_id_from
from subgraphs.common.caller import ANONYMOUS
from subgraphs.common.context import RequestContext
from subgraphs.common.errors import DomainError
from subgraphs.common.graphql import SubgraphGraphQL, error_response
from subgraphs.common.service import ServiceRuntime
from subgraphs.common.subscriptions_stream import ConnectionContext, ScopedLoaders, operation_scope

log = logging.getLogger("dpp.subscriptions")

# What connection_init's payload (and the upgrade request's headers) may carry.
CONNECTION_KEYS = ("authorization", "x-tenant-id", "x-request-id")
OVER_HTTP = "Subscriptions are served over WebSocket (subprotocol graphql-transport-ws) on /graphql, not over HTTP"


class _SubscriptionOverHTTP(Exception):
    """A subscription operation arrived as a plain HTTP request."""


def is_subscription(query: object, operation_name: object) -> bool:
    """True when ``query`` selects a subscription operation (parsed only when it mentions one)."""
    if not isinstance(query, str) or "subscription" not in query:
        return False
    try:
        operation = get_operation_ast(parse(query), operation_name if isinstance(operation_name, str) else None)
    except GraphQLError:
        return False  # the request's own parse error is reported as usual
    return operation is not None and operation.operation == OperationType.SUBSCRIPTION


def connection_headers(upgrade: Mapping[str, str], payload: Mapping[str, Any] | None) -> dict[str, str]:
    """The credentials of a connection: the upgrade headers, overridden by connection_init's payload."""
    headers = {key: upgrade[key] for key in CONNECTION_KEYS if upgrade.get(key)}
    for key, value in (payload or {}).items():
        name = str(key).lower()
        if name in CONNECTION_KEYS and isinstance(value, str) and value:
            headers[name] = value
    return headers


class ScopedOperations(BaseGraphQLTransportWSHandler[Any, Any]):
    """Strawberry's graphql-transport-ws handler; each operation gets a database scope of its own.

    A query or mutation sent over the WebSocket (the protocol allows them) uses that scope's session
    and loaders, closed when the operation ends; a subscription's events use their own scopes on top.
    """

    async def run_operation(self, operation: Operation[Any, Any]) -> None:
        """Run ``operation`` (in its own task) with a fresh scope current."""
        if not isinstance(self.context, ConnectionContext):  # pragma: no cover - get_context made it
            await super().run_operation(operation)
            return
        async with operation_scope(self.context):
            await super().run_operation(operation)


class SubscriptionGraphQL(SubgraphGraphQL):
    """:class:`SubgraphGraphQL` that also serves subscriptions over graphql-transport-ws."""

    graphql_transport_ws_handler_class = ScopedOperations

    def __init__(self, runtime: ServiceRuntime) -> None:
        super().__init__(runtime)
        self.protocols = (GRAPHQL_TRANSPORT_WS_PROTOCOL,)
        self.connection_init_wait_timeout = timedelta(seconds=10)

    async def get_context(self, request: Request | WebSocket, response: Any) -> RequestContext:  # type: ignore[override]
        """HTTP: the context prepared for the request; WebSocket: a new connection context (anonymous until init)."""
        if not isinstance(request, WebSocket):
            return await super().get_context(request, response)
        upgrade = {key: value for key, value in request.headers.items() if key in CONNECTION_KEYS}
        return ConnectionContext(
            caller=ANONYMOUS,
            database=self.runtime.database,
            settings=self.runtime.settings,
            service=self.runtime,
            correlation_id=correlation_id_from(upgrade.get("x-request-id")),
            loaders=ScopedLoaders(),
            headers=upgrade,
        )

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        """As :meth:`SubgraphGraphQL.run`; a subscription over HTTP is refused with OPERATION_NOT_ALLOWED."""
        try:
            return await super().run(request, context, root_value)
        except _SubscriptionOverHTTP:
            return error_response(400, OVER_HTTP, "OPERATION_NOT_ALLOWED")

    async def execute_single(self, **kwargs: Any) -> Any:  # type: ignore[override]
        """Strawberry's single-operation execution, refusing subscriptions (they need a WebSocket)."""
        data = kwargs["request_data"]
        if is_subscription(data.query, data.operation_name):
            raise _SubscriptionOverHTTP
        return await super().execute_single(**kwargs)

    async def on_ws_connect(self, context: Any) -> UnsetType | dict[str, object] | None:
        """``connection_init``: authenticate the connection, or close it with 4403."""
        if not isinstance(context, ConnectionContext):  # pragma: no cover - get_context made it
            raise ConnectionRejectionError()
        context.headers = connection_headers(context.headers, context.connection_params)
        context.correlation_id = correlation_id_from(context.headers.get("x-request-id"))
        try:
            await context.authenticate()
        except DomainError as exc:
            log.info("refused a WebSocket connection: %s (%s)", exc.code, context.correlation_id)
            raise ConnectionRejectionError({"code": exc.code, "message": exc.message}) from None
        return UNSET
