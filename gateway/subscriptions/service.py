"""The gateway's subscription service: what the client edge (WebSocket, SSE, multipart) calls.

``open`` prepares the operation on the current runtime (parse, validate, plan: a
:class:`~gateway.planner.SubscriptionNode`), checks the limits, decides authorization for the
principal, and attaches a :class:`~gateway.subscriptions.subscriber.Subscriber` to the shared
upstream of its primary fetch (one per distinct subgraph, document, variables, authorization
and tenant: :mod:`gateway.subscriptions.fanout`). A new supergraph re-prepares every running
subscription: those still valid keep running, the others end with SUBSCRIPTION_SCHEMA_RELOAD.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson
from graphql.execution.values import get_variable_values

from gateway.contracts import GraphQLRequest, Principal, SubgraphTransport
from gateway.planner import SubscriptionNode
from gateway.preparation import null_conditions
from gateway.runtime import BAD_USER_INPUT, AuthorizedPlan, Gateway, PreparedOperation
from gateway.subscriptions.config import SubscriptionConfig
from gateway.subscriptions.connections import UpstreamPool
from gateway.subscriptions.fanout import CompletionGroup, SharedStream, UpstreamKey
from gateway.subscriptions.messages import (
    OPERATION_NOT_ALLOWED,
    SUBSCRIPTION_LIFETIME_EXCEEDED,
    SUBSCRIPTION_LIMIT_REACHED,
    SUBSCRIPTION_SCHEMA_RELOAD,
    SUBSCRIPTION_UPSTREAM_RECONNECTED,
    SubscriptionMessage,
    SubscriptionRejected,
    SubscriptionStream,
    error,
    final,
    notice,
)
from gateway.subscriptions.stats import SubscriptionStats
from gateway.subscriptions.subscriber import Subscriber
from gateway.subscriptions.upstream import init_payload

if TYPE_CHECKING:  # gateway.http imports the edge, which imports this module
    from gateway.http.state import GatewayState, LoadedSupergraph

__all__ = ["SubscriptionMessage", "SubscriptionRejected", "SubscriptionStream", "Subscriptions"]

logger = logging.getLogger("gateway.subscriptions")

SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


class _Refused(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else "refused")
        self.errors = errors


class Subscriptions:
    """Every subscription of one server process (built in create_app, closed at shutdown).

    ``state`` gives the current runtime (and tells the service when hot reload installs a new
    one); ``transport`` reaches subgraphs for the entity fetches of each event; ``metrics``
    (a :class:`gateway.telemetry.metrics.GatewayMetrics`) exports :attr:`stats` when given.
    """

    def __init__(self, settings: Any, state: GatewayState, transport: SubgraphTransport, *,
                 metrics: Any = None, config: SubscriptionConfig | None = None) -> None:
        self.config = config or SubscriptionConfig.from_settings(settings)
        self.stats = SubscriptionStats()
        self._state = state
        self._transport = transport
        self._streams: dict[UpstreamKey, SharedStream] = {}
        self._pool = UpstreamPool(
            self.stats, open_timeout=self.config.upstream_open_timeout,
            ping_interval=self.config.upstream_ping_interval, max_operations=self.config.upstream_max_operations,
            queue_size=self.config.upstream_queue_size,
        )
        # every open subscriber -> its lifetime's deadline (loop time); insertion order is deadline order
        # (one max_lifetime for all), so one timer at the first deadline ends them all in turn
        self._subscribers: dict[Subscriber, float] = {}
        self._lifetime_timer: asyncio.TimerHandle | None = None
        self._tenants: Counter[str] = Counter()
        self._closed = False
        self._reloads: set[asyncio.Task[None]] = set()
        self._unhook = state.on_install(self._installed)
        if metrics is not None:
            metrics.watch_subscriptions(self.stats)

    @property
    def streams(self) -> list[SharedStream]:
        """The upstream subscriptions open now."""
        return list(self._streams.values())

    async def open(self, request: GraphQLRequest, *, principal: Principal, headers: Mapping[str, str],
                   last_event_id: str | None = None) -> SubscriptionStream | SubscriptionRejected:
        """Start one client subscription, or refuse it with request errors."""
        loaded = self._state.current
        runtime = loaded.runtime if loaded is not None else None
        if self._closed or not isinstance(runtime, Gateway):
            return self._rejected([error("The gateway is not ready for subscriptions.", SERVICE_UNAVAILABLE)])
        tenant = principal.tenant_id or _header(headers, "x-tenant-id")
        try:
            prepared, variables, authorized = self._prepare(runtime, request, principal, headers)
        except _Refused as refused:
            return self._rejected(refused.errors)
        limit = self.config.max_per_tenant
        if tenant and limit and self._tenants[tenant] >= limit:
            return self._rejected([error(f"The tenant has reached its limit of {limit} subscriptions.",
                                         SUBSCRIPTION_LIMIT_REACHED, limit=limit)])
        subscriber = Subscriber(
            request=request, principal=principal, headers=headers, tenant=tenant,
            queue_size=self.config.queue_size, disconnect_slow=self.config.slow_consumer == "disconnect",
            stats=self.stats, on_close=self._closed_subscriber,
        )
        loop = asyncio.get_running_loop()
        self._subscribers[subscriber] = loop.time() + self.config.max_lifetime
        self._arm_lifetimes(loop)
        if tenant:
            self._tenants[tenant] += 1
        self.stats.subscribers += 1
        self.stats.subscriptions_opened += 1
        try:
            await self._attach(subscriber, runtime, prepared, variables, authorized, last_event_id)
        except BaseException:  # the edge gave up waiting (client gone): nothing may stay behind
            await subscriber.aclose()
            raise
        return subscriber

    async def aclose(self) -> None:
        """End every subscription and upstream (server shutdown)."""
        self._closed = True
        self._unhook()
        if self._lifetime_timer is not None:
            self._lifetime_timer.cancel()
            self._lifetime_timer = None
        for task in list(self._reloads):
            task.cancel()
        for stream in list(self._streams.values()):
            await stream.aclose()
        for subscriber in list(self._subscribers):
            subscriber.finish(None)
        await self._pool.aclose()

    # -- preparation ---------------------------------------------------------------------------

    def _prepare(self, runtime: Gateway, request: GraphQLRequest, principal: Principal,
                 headers: Mapping[str, str]) -> tuple[PreparedOperation, dict[str, Any], AuthorizedPlan]:
        """Validated, planned and authorized for ``principal``; raises :class:`_Refused`."""
        prepared = runtime.prepare(request.query, request.operation_name)
        if prepared.errors:
            raise _Refused(list(prepared.errors))
        op, definition = prepared.operation, prepared.definition
        assert op is not None and definition is not None
        if op.kind != "subscription" or not isinstance(prepared.plan, SubscriptionNode):
            raise _Refused([error(f"Only subscriptions can be opened here, not a {op.kind}.", OPERATION_NOT_ALLOWED)])
        raw = dict(request.variables or {})
        coerced = get_variable_values(runtime.api_schema, definition.variable_definitions or (), raw)
        if isinstance(coerced, list):
            raise _Refused([{**e.formatted, "extensions": {"code": BAD_USER_INPUT}} for e in coerced])
        refused = null_conditions(prepared, coerced.coerced)
        if refused:
            raise _Refused(refused)
        # subgraphs get the client's JSON values with defaults filled in (as for queries)
        variables = {name: raw[name] if name in raw else vd.default
                     for name, vd in op.variables.items() if name in raw or vd.has_default}
        if prepared.cost is not None:  # demand control, as for queries (refused before any subgraph call)
            verdict = runtime.demand.check(prepared.cost, definition, variables)
            if verdict.error is not None:
                raise _Refused([verdict.error])
        authorized = runtime.authorize(prepared, principal, headers)
        if not isinstance(authorized, AuthorizedPlan):
            raise _Refused(authorized.errors)
        return prepared, variables, authorized

    async def _attach(self, subscriber: Subscriber, runtime: Gateway, prepared: PreparedOperation,
                      variables: dict[str, Any], authorized: AuthorizedPlan, last_event_id: str | None) -> None:
        """Attach ``subscriber`` to the upstream its primary fetch asks for (opened when new).
        An attached one (hot reload) moves between two events when its upstream stays the same."""
        plan = authorized.plan
        assert isinstance(plan, SubscriptionNode)
        primary = plan.primary
        primary_variables = {v: variables[v] for v in primary.variable_usages if v in variables}
        headers = subscriber.headers
        key = UpstreamKey(
            subgraph=primary.subgraph,
            url=runtime.subgraph_urls.get(primary.subgraph, ""),
            document=primary.operation,
            variables=orjson.dumps(primary_variables, option=orjson.OPT_SORT_KEYS),
            authorization=_header(headers, "authorization") or "",
            tenant=subscriber.tenant or "",
        )
        group_key = (id(prepared), orjson.dumps(variables, option=orjson.OPT_SORT_KEYS), authorized.plan_text,
                     orjson.dumps(authorized.errors))
        group = CompletionGroup(group_key, runtime, prepared, variables, authorized, subscriber.principal, headers)
        old = subscriber.upstream
        if old is not None and old.key == key and not old.ended:
            await old.move(subscriber, group)
            return
        if old is not None:
            old.detach(subscriber, keep_open=True)
        stream = self._streams.get(key)
        if stream is None or stream.ended:
            stream = SharedStream(key, primary, primary_variables, init_payload(headers), config=self.config,
                                  stats=self.stats, transport=self._transport, pool=self._pool,
                                  on_ended=self._stream_ended)
            self._streams[key] = stream
            stream.start()
        await stream.attach(subscriber, group, last_event_id)
        if old is not None:
            subscriber.push(notice("The subscription moved to a new upstream after a schema reload; "
                                   "events may have been missed.", SUBSCRIPTION_UPSTREAM_RECONNECTED))
            if old is not stream:
                old.close_if_unused()

    # -- lifecycle -----------------------------------------------------------------------------

    def _rejected(self, errors: list[dict[str, Any]]) -> SubscriptionRejected:
        self.stats.subscriptions_rejected += 1
        return SubscriptionRejected(errors)

    def _closed_subscriber(self, subscriber: Subscriber) -> None:
        if subscriber not in self._subscribers:
            return
        del self._subscribers[subscriber]
        self.stats.subscribers -= 1
        if subscriber.tenant:
            self._tenants[subscriber.tenant] -= 1
            if self._tenants[subscriber.tenant] <= 0:
                del self._tenants[subscriber.tenant]
        stream = subscriber.upstream
        if stream is not None:
            stream.detach(subscriber)

    def _arm_lifetimes(self, loop: asyncio.AbstractEventLoop) -> None:
        """One loop timer for every subscriber's maximum lifetime, at the oldest one's deadline
        (a timer per subscriber cost ~0.6 KB each)."""
        if self._lifetime_timer is None and self._subscribers and self.config.max_lifetime > 0 and not self._closed:
            first = next(iter(self._subscribers.values()))
            self._lifetime_timer = loop.call_at(first, self._lifetimes_over, loop)

    def _lifetimes_over(self, loop: asyncio.AbstractEventLoop) -> None:
        self._lifetime_timer = None
        now = loop.time()
        over = []
        for subscriber, deadline in self._subscribers.items():
            if deadline > now:
                break
            over.append(subscriber)
        message = final(f"The subscription reached its maximum lifetime of {self.config.max_lifetime:g} s.",
                        SUBSCRIPTION_LIFETIME_EXCEEDED)
        for subscriber in over:
            subscriber.finish(message)
            self._closed_subscriber(subscriber)  # ended already (finish detaches it); never twice
        self._arm_lifetimes(loop)

    def _stream_ended(self, stream: SharedStream) -> None:
        if self._streams.get(stream.key) is stream:
            del self._streams[stream.key]

    def _installed(self, loaded: LoadedSupergraph) -> None:
        """Hot reload (called by :meth:`GatewayState.install`): re-prepare every subscription."""
        if self._closed or not self._subscribers:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            logger.warning("a supergraph was installed outside the event loop; subscriptions were not re-prepared")
            return
        task = loop.create_task(self._reload(loaded), name="subscriptions-reload")
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def _reload(self, loaded: LoadedSupergraph) -> None:
        runtime = loaded.runtime
        for subscriber in list(self._subscribers):
            if subscriber.closed or subscriber.upstream is None or self._state.current is not loaded:
                continue  # ended, still being attached (it keeps what it was opened with), or reloaded again
            try:
                if not isinstance(runtime, Gateway):
                    raise _Refused([error("the new runtime cannot serve subscriptions", SERVICE_UNAVAILABLE)])
                prepared, variables, authorized = self._prepare(
                    runtime, subscriber.request, subscriber.principal, subscriber.headers)
            except _Refused as refused:
                reasons = "; ".join(e.get("message", "") for e in refused.errors)
                subscriber.finish(final(f"The subscription no longer holds after a schema reload: {reasons}",
                                        SUBSCRIPTION_SCHEMA_RELOAD))
                continue
            await self._attach(subscriber, runtime, prepared, variables, authorized, None)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value
