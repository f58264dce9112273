"""One upstream subgraph subscription shared by every identical client subscription.

A :class:`SharedStream` holds the WebSocket to the subgraph (reconnecting with exponential
backoff and resubscribing when it drops), numbers the events it receives, keeps the last few
for ``Last-Event-ID`` resume, and completes each event once per :class:`CompletionGroup` (the
subscribers whose operation, variables and authorization decision are the same) with the
runtime's executor, then pushes the result into each subscriber's queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections import deque
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from gateway.contracts import Principal, SubgraphTransport
from gateway.planner.nodes import FetchNode, restore_names
from gateway.runtime import AuthorizedPlan, Gateway, PreparedOperation
from gateway.subscriptions.config import SubscriptionConfig
from gateway.subscriptions.messages import (
    SUBGRAPH_SUBSCRIPTION_FAILED,
    SUBSCRIPTION_EVENTS_MISSED,
    SUBSCRIPTION_UPSTREAM_RECONNECTED,
    SubscriptionMessage,
    error,
    final,
    notice,
)
from gateway.subscriptions.stats import SubscriptionStats
from gateway.subscriptions.subscriber import Subscriber
from gateway.subscriptions.upstream import UpstreamLost

if TYPE_CHECKING:
    from gateway.subscriptions.connections import UpstreamPool

__all__ = ["CompletionGroup", "SharedStream", "UpstreamKey"]

logger = logging.getLogger("gateway.subscriptions")

DOWNSTREAM_SERVICE_ERROR = "DOWNSTREAM_SERVICE_ERROR"
# codes of a subgraph event without data: a notice that changes nothing, or the end of the subscription
_NOTICE_CODES = frozenset({"SUBSCRIPTION_EVENTS_DROPPED"})
_ENDING_CODES = frozenset({"UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND"})


@dataclass(frozen=True, slots=True)
class UpstreamKey:
    """What makes two upstream subscriptions identical (and so shared)."""

    subgraph: str
    url: str
    document: str
    variables: bytes  # canonical JSON of the primary fetch's variables
    authorization: str
    tenant: str


class CompletionGroup:
    """Subscribers of one stream whose events one execution completes for all."""

    __slots__ = ("authorized", "headers", "key", "prepared", "principal", "runtime", "subscribers", "variables")

    def __init__(self, key: Hashable, runtime: Gateway, prepared: PreparedOperation, variables: Mapping[str, Any],
                 authorized: AuthorizedPlan, principal: Principal, headers: Mapping[str, str]) -> None:
        self.key = key
        self.runtime = runtime
        self.prepared = prepared
        self.variables = dict(variables)
        self.authorized = authorized
        self.principal = principal
        self.headers = dict(headers)
        self.subscribers: dict[Subscriber, None] = {}  # an ordered set: O(1) to leave

    async def complete(self, data: Any, errors: list[dict[str, Any]], transport: SubgraphTransport) -> dict[str, Any]:
        """The client payload of one event: the plan's ``rest`` run over ``data``, shaped."""
        outcome = await self.runtime.run_prepared(
            self.prepared, self.variables, transport=transport, headers=self.headers,
            initial_data=data if isinstance(data, dict) else None, initial_errors=errors,
            principal=self.principal, authorized=self.authorized,
        )
        return outcome.to_response()


class SharedStream:
    """One upstream subscription and its subscribers (see the module docstring)."""

    def __init__(self, key: UpstreamKey, primary: FetchNode, variables: Mapping[str, Any],
                 init: Mapping[str, str], *, config: SubscriptionConfig, stats: SubscriptionStats,
                 transport: SubgraphTransport, pool: UpstreamPool,
                 on_ended: Callable[[SharedStream], None]) -> None:
        self.key = key
        self.primary = primary
        # an event's id is the subgraph bus's (``extensions.event.id``: the same on every gateway replica
        # holding this subscription) or else "<token>.<n>", which only this stream knows
        self.token = secrets.token_hex(4)
        self._request: dict[str, Any] = {"query": primary.operation}
        if variables:
            self._request["variables"] = dict(variables)
        self._init = dict(init)
        self._config = config
        self._stats = stats
        self._transport = transport
        self._pool = pool
        self._on_ended = on_ended
        self.groups: dict[Hashable, CompletionGroup] = {}
        # the last events as received (number, id, JSON), for Last-Event-ID resume; replay_size 0: none kept
        self._buffer: deque[tuple[int, str, bytes]] = deque(maxlen=max(config.replay_size, 0))
        self._seq = 0
        self._lock = asyncio.Lock()  # events, replays and regrouping happen one at a time, in order
        self._task: asyncio.Task[None] | None = None
        self._linger: asyncio.TimerHandle | None = None
        self.ended = False
        self.received = 0  # events received (tests and metrics read it)

    # -- subscribers ---------------------------------------------------------------------------

    def start(self) -> None:
        self._stats.upstreams += 1
        self._stats.upstreams_opened += 1
        self._task = asyncio.get_running_loop().create_task(self._run(), name="subscription-upstream")

    async def attach(self, subscriber: Subscriber, group: CompletionGroup, last_event_id: str | None = None) -> None:
        """Add ``subscriber`` to ``group`` (or the group already under its key), after replaying
        the buffered events since ``last_event_id`` to it."""
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        async with self._lock:
            group = self.groups.get(group.key, group)
            if last_event_id is not None:
                await self._replay(subscriber, group, last_event_id)
            if self.ended:
                subscriber.finish(final(f"The subscription to subgraph '{self.key.subgraph}' ended.",
                                        SUBGRAPH_SUBSCRIPTION_FAILED, serviceName=self.key.subgraph))
                return
            if subscriber.closed:
                return
            self.groups[group.key] = group
            group.subscribers[subscriber] = None
            subscriber.upstream, subscriber.group = self, group

    async def move(self, subscriber: Subscriber, group: CompletionGroup) -> None:
        """Put an attached ``subscriber`` into ``group`` between two events (hot reload)."""
        async with self._lock:
            if subscriber.group is None or self.ended:
                return
            self.detach(subscriber, keep_open=True)
            group = self.groups.get(group.key, group)
            self.groups[group.key] = group
            group.subscribers[subscriber] = None
            subscriber.upstream, subscriber.group = self, group

    def detach(self, subscriber: Subscriber, *, keep_open: bool = False) -> None:
        """Remove ``subscriber``; the upstream closes ``resume_window`` seconds after the last one left
        (``keep_open``: not now, the subscriber moves elsewhere, perhaps back here)."""
        group: CompletionGroup | None = subscriber.group
        subscriber.upstream = None
        subscriber.group = None
        if group is not None:
            group.subscribers.pop(subscriber, None)
            if not group.subscribers and self.groups.get(group.key) is group:
                del self.groups[group.key]
        if keep_open or self.groups or self.ended or self._linger is not None:
            return
        window = self._config.resume_window
        if window > 0:
            self._linger = asyncio.get_running_loop().call_later(window, self.close_if_unused)
        else:
            self.close_if_unused()

    def close_if_unused(self) -> None:
        """Close the upstream when no subscriber is attached."""
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        if not self.groups and not self.ended:
            self._end(None)

    async def aclose(self) -> None:
        """Stop the upstream (the service is shutting down)."""
        self._end(None)
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    def _end(self, message: SubscriptionMessage | None) -> None:
        """Finish every subscriber with ``message`` (None: normal completion) and close the upstream."""
        if self.ended:
            return
        self.ended = True
        self._stats.upstreams -= 1
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        for group in list(self.groups.values()):
            for subscriber in list(group.subscribers):
                subscriber.finish(message)
        self.groups.clear()
        self._on_ended(self)
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()

    def notify(self, message: SubscriptionMessage) -> None:
        for group in list(self.groups.values()):
            for subscriber in list(group.subscribers):
                subscriber.push(message)

    # -- events --------------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            await self._connected_loop()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("subscription upstream to %s failed unexpectedly", self.key.subgraph)
            self._end(final(f"The subscription to subgraph '{self.key.subgraph}' failed.",
                            SUBGRAPH_SUBSCRIPTION_FAILED, serviceName=self.key.subgraph))

    async def _connected_loop(self) -> None:
        config, loop = self._config, asyncio.get_running_loop()
        attempt, lost_since, subscribed_before = 0, None, False
        while not self.ended:
            try:
                async with contextlib.aclosing(self._pool.subscribe(self.key.url, self._init, self._request)) as events:
                    async for event in events:
                        if event.kind == "subscribed":
                            if subscribed_before:
                                self._stats.upstream_reconnects += 1
                                self.notify(notice(
                                    f"The connection to subgraph '{self.key.subgraph}' was re-established; "
                                    "events may have been missed.", SUBSCRIPTION_UPSTREAM_RECONNECTED,
                                    serviceName=self.key.subgraph))
                            subscribed_before, attempt, lost_since = True, 0, None
                        elif event.kind == "next":
                            await self._event(event.payload or {})
                            if self.ended:  # the last subscriber left while it was delivered
                                return
                        elif event.kind == "error":
                            raw = (event.payload or {}).get("errors") or ()
                            errors = [downstream(e, self.key.subgraph) for e in raw]
                            self._end(SubscriptionMessage({"errors": errors}, final=True))
                            return
                        else:
                            self._end(None)
                            return
            except UpstreamLost as lost:
                now = loop.time()
                lost_since = lost_since if lost_since is not None else now
                waited = now - lost_since
                if not lost.retry or waited >= config.reconnect_timeout:
                    self._stats.upstream_failures += 1
                    logger.warning("subscription upstream to %s given up after %.1fs: %s",
                                   self.key.subgraph, waited, lost.reason)
                    code = "UNAUTHENTICATED" if lost.close_code == 4403 else SUBGRAPH_SUBSCRIPTION_FAILED
                    self._end(final(f"The subscription to subgraph '{self.key.subgraph}' could not be "
                                    f"(re)established: {lost.reason}", code, serviceName=self.key.subgraph))
                    return
                delay = min(config.reconnect_max_backoff, config.reconnect_backoff * 2 ** attempt)
                delay = min(random.uniform(delay / 2, delay), max(config.reconnect_timeout - waited, 0.0))
                attempt += 1
                logger.info("subscription upstream to %s lost (%s); reconnecting in %.2fs",
                            self.key.subgraph, lost.reason, delay)
                await asyncio.sleep(delay)

    async def _event(self, payload: dict[str, Any]) -> None:
        self._stats.upstream_events += 1
        self.received += 1
        if payload.get("data") is None and payload.get("errors"):
            self._error_event(payload["errors"])
            return
        async with self._lock:
            self._seq += 1
            event_id = _bus_id(payload) or f"{self.token}.{self._seq}"
            if self._buffer.maxlen:
                self._buffer.append((self._seq, event_id, orjson.dumps(payload)))
            groups = list(self.groups.values())
            if not groups:
                return
            results = await asyncio.gather(*(self._complete(g, payload, copy=i > 0) for i, g in enumerate(groups)))
            for group, body in zip(groups, results, strict=True):
                message = SubscriptionMessage(body, event_id)
                for subscriber in list(group.subscribers):
                    subscriber.push(message)

    def _error_event(self, raw: Any) -> None:
        """An event without data: the subgraph's own notice (it dropped events for us), the end of the
        subscription (token expired or revoked, membership lost, entity deleted: ``complete`` follows),
        or an event that failed: passed on as it is, nothing to complete."""
        errors = [downstream(e, self.key.subgraph) for e in (raw if isinstance(raw, list) else [raw])]
        codes = {e["extensions"].get("code") for e in errors}
        if codes <= _NOTICE_CODES:
            self.notify(SubscriptionMessage({"errors": errors}))
        elif codes & _ENDING_CODES:
            self._end(SubscriptionMessage({"errors": errors}, final=True))
        else:
            self.notify(SubscriptionMessage({"data": None, "errors": errors}))

    async def _complete(self, group: CompletionGroup, payload: dict[str, Any], *, copy: bool) -> dict[str, Any]:
        """One group's payload for one event (the event's data copied when groups share it)."""
        self._stats.completions += 1
        data = payload.get("data")
        if copy and data is not None:
            data = orjson.loads(orjson.dumps(data))
        if self.primary.renamed and isinstance(data, dict):
            restore_names(data, self.primary.selection)
        errors = [downstream(e, self.key.subgraph) for e in payload.get("errors") or ()]
        try:
            return await group.complete(data, errors, self._transport)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("completing a subscription event from %s failed", self.key.subgraph)
            return {"data": None, "errors": [error("The event could not be completed.", "INTERNAL_SERVER_ERROR")]}

    async def _replay(self, subscriber: Subscriber, group: CompletionGroup, last_event_id: str) -> None:
        """Complete and push to ``subscriber`` the buffered events after ``last_event_id``; tell it
        when events since may be missing (an id older than the buffer, or one it cannot place)."""
        entries = list(self._buffer)
        found = next((i for i, entry in enumerate(entries) if entry[1] == last_event_id), None)
        if found is not None:
            after, complete = entries[found + 1:], True
        else:
            after, complete = _after(entries, last_event_id, self.token, self._seq)
        if not complete:
            subscriber.push(notice("Events since the given Last-Event-ID may have been missed.",
                                   SUBSCRIPTION_EVENTS_MISSED))
        for _, event_id, raw in after:
            body = await self._complete(group, orjson.loads(raw), copy=False)
            subscriber.push(SubscriptionMessage(body, event_id))


_Entry = tuple[int, str, bytes]


def _after(entries: list[_Entry], last: str, token: str, seq: int) -> tuple[list[_Entry], bool]:
    """The buffered events after an id not in the buffer, and whether none can be missing."""
    mark, _, number = last.partition(".")
    if mark == token and number.isdigit():  # this stream's own numbering
        n = int(number)
        newer = [entry for entry in entries if entry[0] > n]
        return newer, n >= seq or (bool(newer) and newer[0][0] == n + 1)
    order = _bus_order(last)
    if order is None:
        return [], False  # another stream's id: nothing here is known to follow it
    newer = [entry for entry in entries if (o := _bus_order(entry[1])) is not None and o > order]
    return newer, False  # older than the buffer: what came between is gone


def _bus_id(payload: Mapping[str, Any]) -> str | None:
    """The subgraph bus's event id (``extensions.event.id``, ``<milliseconds>-<sequence>``), if any."""
    event = (payload.get("extensions") or {}).get("event") if isinstance(payload.get("extensions"), dict) else None
    value = event.get("id") if isinstance(event, dict) else None
    return value if isinstance(value, str) and _bus_order(value) is not None else None


def _bus_order(event_id: str) -> tuple[int, int] | None:
    ms, sep, seq = event_id.partition("-")
    if not sep or not ms.isdigit() or not seq.isdigit():
        return None
    return int(ms), int(seq)


def downstream(err: Any, subgraph: str) -> dict[str, Any]:
    """A subgraph's error as the client sees it: its code (DOWNSTREAM_SERVICE_ERROR when it has
    none) and the subgraph's name."""
    if not isinstance(err, dict):
        return error(str(err), DOWNSTREAM_SERVICE_ERROR, serviceName=subgraph)
    out = dict(err)
    out["extensions"] = {"code": DOWNSTREAM_SERVICE_ERROR, "serviceName": subgraph, **(err.get("extensions") or {})}
    return out
