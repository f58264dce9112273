"""Subscription streams of a subgraph: from bus events to freshly loaded entities, for one caller.

A subscription field's resolver calls :func:`watch`, which

1. refuses at once (a graphql-transport-ws ``error``) a caller the field's authorization directives
   (``@authenticated`` / ``@requiresScopes`` / ``@policy``) do not admit, or one without the context
   of a WebSocket connection (:class:`ConnectionContext`);
2. subscribes to the subgraph's bus (``runtime.events``) with a filter that admits the caller's
   tenant only (and what the field asks for), then runs the field's own check (``prepare``, e.g.
   NOT_FOUND for another tenant's passport);
3. for each event: checks the caller again (identity's current context: token revoked, membership
   lost, roles changed), loads the entity in a database session and dataloaders of that event alone,
   and yields it; graphql-core then resolves the selection against that same event scope.

A stream ends with a final error (``next`` with the error, then ``complete``): UNAUTHENTICATED when
the token expires (at its ``exp``) or is no longer accepted, FORBIDDEN when the caller lost the
membership or the rights the field needs. The caller is checked on every event and every
``SUBSCRIPTION_AUTH_RECHECK`` seconds between events. A subscriber whose queue overflowed gets a
SUBSCRIPTION_EVENTS_DROPPED error (``extensions.dropped``) and its stream goes on.

Each event's result carries ``extensions.event`` (id, kind, typename, key, timestamp) through
:func:`describe_event` (called by ``ShapeErrors.on_stream_result``), so that the gateway can give
clients stable event ids.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from aiodataloader import DataLoader
from sqlmodel.ext.asyncio.session import AsyncSession

from subgraphs.common.authz import Requirement, install
from subgraphs.common.caller import AuthenticationUnavailable, caller_from_headers
from subgraphs.common.context import RequestContext
from subgraphs.common.errors import DomainError, Unauthenticated
from subgraphs.common.events import Dropped, Event, Match
from subgraphs.common.loaders import Loaders
from subgraphs.common.tenancy import Scope

log = logging.getLogger("dpp.subscriptions")

T = TypeVar("T")
TOKEN_EXPIRED = "The token has expired; sign in again and subscribe anew"


class SubscriptionError(DomainError):
    """A subscription cannot be served as asked."""

    code = "OPERATION_NOT_ALLOWED"


class EventsDropped(DomainError):
    """Not final: the subscriber did not keep up and lost its oldest events."""

    code = "SUBSCRIPTION_EVENTS_DROPPED"


class EventScope:
    """The database session and dataloaders of one event (or of a subscription's first check)."""

    def __init__(self, owner: ConnectionContext, event: Event | None) -> None:
        self.owner = owner
        self.event = event
        self.loaders = Loaders()
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        """A session of the caller's tenant, opened on first use."""
        if self._session is None:
            self._session = self.owner.database.session(Scope(tenant_id=self.owner.caller.tenant_id))
        return self._session

    async def aclose(self) -> None:
        """Close the session (back to the pool while the subscription waits for its next event)."""
        if self._session is not None:
            await self._session.close()
            self._session = None


# The scope of the event being executed by the current operation task. Each graphql-transport-ws
# operation runs in a task of its own, so operations of one connection never see each other's scope.
_CURRENT: ContextVar[EventScope | None] = ContextVar("dpp_subscription_event", default=None)


@asynccontextmanager
async def operation_scope(ctx: ConnectionContext) -> AsyncIterator[EventScope]:
    """A scope current for one operation of a connection (its task), closed when the operation ends."""
    scope = EventScope(ctx, None)
    token = _CURRENT.set(scope)
    try:
        yield scope
    finally:
        _CURRENT.reset(token)
        await scope.aclose()


class ScopedLoaders(Loaders):
    """The connection's loaders: those of the current event when there is one."""

    def get(self, key: Hashable, factory: Callable[[], DataLoader]) -> DataLoader:
        """The current event's loader under ``key`` (else the connection's own)."""
        scope = _CURRENT.get()
        return scope.loaders.get(key, factory) if scope is not None else super().get(key, factory)

    def clear(self) -> None:
        """Forget the current event's cached values (else the connection's)."""
        scope = _CURRENT.get()
        if scope is not None:
            scope.loaders.clear()
        else:
            super().clear()


@dataclass
class ConnectionContext(RequestContext):
    """The context of one WebSocket connection: the caller it authenticated and its credentials.

    ``session`` and ``loaders`` are those of the event being executed (:class:`EventScope`), so
    that events never share a transaction or a cache, and no connection is held between events.
    """

    # The upgrade request's headers merged with connection_init's payload (authorization,
    # x-tenant-id, x-request-id); re-verified on every event.
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    # Set by Strawberry from connection_init's payload.
    connection_params: dict[str, Any] | None = field(default=None, repr=False)
    # The token's ``exp`` (seconds since the epoch); None for anonymous connections.
    expires_at: float | None = None
    checked_at: float = 0.0

    @property
    def session(self) -> AsyncSession:
        """The current event's session (a connection-wide one outside events)."""
        scope = _CURRENT.get()
        if scope is not None and scope.owner is self:
            return scope.session
        return RequestContext.session.fget(self)  # type: ignore[attr-defined,no-any-return]

    async def authenticate(self) -> None:
        """Establish (or re-establish) the caller from :attr:`headers`, exactly as an HTTP request is.

        Raises UNAUTHENTICATED, FORBIDDEN or AUTHENTICATION_UNAVAILABLE (``subgraphs.common.caller``).
        """
        self.caller = await caller_from_headers(self.headers, self.service.auth)
        self.expires_at = token_expiry(self.caller.credentials) if self.caller.credentials else None
        self.checked_at = time.monotonic()


def token_expiry(token: str) -> float | None:
    """The ``exp`` claim of an already verified JWT (None when it has none)."""
    try:
        payload = token.split(".")[1]
        claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = claims.get("exp") if isinstance(claims, dict) else None
    except (IndexError, ValueError, binascii.Error, orjson.JSONDecodeError):
        return None
    return float(exp) if isinstance(exp, (int, float)) and not isinstance(exp, bool) else None


def tenant_events(ctx: RequestContext, typename: str, also: Match | None = None) -> Match:
    """A filter admitting ``typename`` events of the caller's active tenant only (and what ``also`` admits)."""
    tenant_id = ctx.caller.tenant_id

    def match(event: Event) -> bool:
        if event.typename != typename or tenant_id is None or event.tenant_id != tenant_id:
            return False
        return also is None or also(event)

    return match


def _requirement(info: Any) -> Requirement | None:
    raw = getattr(info, "_raw_info", info)  # Strawberry's Info wraps graphql-core's
    table = install(raw.schema)
    return table.get((raw.parent_type.name, raw.field_name))


async def watch(
    info: Any,
    match: Match,
    load: Callable[[Event], Awaitable[T | None]],
    *,
    prepare: Callable[[], Awaitable[None]] | None = None,
) -> AsyncGenerator[T | DomainError, None]:
    """The stream of a subscription field: ``load(event)`` for every event ``match`` admits.

    ``load`` returns the payload (None: nothing to send for this event). ``prepare`` runs once
    after subscribing (its errors refuse the subscription). See the module docstring.
    """
    ctx = info.context
    if not isinstance(ctx, ConnectionContext):
        raise SubscriptionError("Subscriptions are served over WebSocket (graphql-transport-ws) on /graphql")
    requirement = _requirement(info)
    denial = requirement.denial(ctx.caller) if requirement is not None else None
    if denial is not None:
        raise denial
    bus = ctx.service.events
    subscriber = bus.subscribe(match)
    if prepare is not None:
        scope = EventScope(ctx, None)
        token = _CURRENT.set(scope)
        try:
            await prepare()
        except BaseException:
            bus.unsubscribe(subscriber)
            raise
        finally:
            _CURRENT.reset(token)
            await scope.aclose()
    return _stream(ctx, subscriber, requirement, load)


async def _stream(
    ctx: ConnectionContext,
    subscriber: Any,
    requirement: Requirement | None,
    load: Callable[[Event], Awaitable[T | None]],
) -> AsyncGenerator[T | DomainError, None]:
    recheck = max(0.05, ctx.settings.subscription_auth_recheck)
    try:
        while True:
            timeout = recheck
            if ctx.expires_at is not None:
                timeout = min(timeout, max(0.0, ctx.expires_at - time.time()))
            item = await subscriber.get(timeout)
            if ctx.expires_at is not None and time.time() >= ctx.expires_at:
                raise Unauthenticated(TOKEN_EXPIRED)
            if item is None or not isinstance(item, Event):
                await _recheck(ctx, requirement)
                if isinstance(item, Dropped):
                    message = f"{item.count} event(s) were dropped: the subscriber did not keep up"
                    yield EventsDropped(message, dropped=item.count)
                continue
            await _recheck(ctx, requirement)
            scope = EventScope(ctx, item)
            token = _CURRENT.set(scope)
            try:
                value = await load(item)
                if value is not None:
                    yield value  # graphql-core executes the selection now, in this task, with this scope current
            finally:
                _CURRENT.reset(token)
                await scope.aclose()
    finally:
        ctx.service.events.unsubscribe(subscriber)


async def _recheck(ctx: ConnectionContext, requirement: Requirement | None) -> None:
    """Check the caller again (identity's cached context): raises the final error when it lost its rights."""
    if ctx.caller.is_anonymous:
        return
    try:
        await ctx.authenticate()
    except AuthenticationUnavailable:
        log.warning("cannot re-check a subscriber right now (correlation id %s); keeping it", ctx.correlation_id)
        return
    denial = requirement.denial(ctx.caller) if requirement is not None else None
    if denial is not None:
        raise denial


def describe_event(result: Any) -> None:
    """Add ``extensions.event`` (id, kind, typename, key, timestamp) to the result of the event being executed."""
    scope = _CURRENT.get()
    if scope is not None and scope.event is not None:
        result.extensions = {**(result.extensions or {}), "event": scope.event.describe()}
