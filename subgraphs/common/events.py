"""Events of committed mutations and the bus that carries them to subscriptions.

A mutation stages :class:`EventDraft` objects on its :class:`~subgraphs.common.audit.AuditRecord`;
:func:`~subgraphs.common.audit.run_mutation` publishes them after the transaction commits, and never
for a rolled-back one. Each published :class:`Event` carries the tenant, the entity's typename and
key, a kind (``created``, ``updated``, ``published`` ...), a monotonically increasing id and a
timestamp, plus a few string attributes that subscriptions filter on (status, productId ...).

Two buses share one fan-out:

* :class:`EventBus`, in-process (the embedded default): ids are ``<milliseconds>-<sequence>``;
* :class:`RedisEventBus` (``REDIS_URL`` set): one Redis Stream per subgraph (``dpp:events:<service>``,
  trimmed to about ``EVENTS_STREAM_MAXLEN`` entries), ``XADD`` to publish and one ``XREAD BLOCK``
  reader task per process that hands every entry to the local subscribers. The ids are the
  stream's own (same format), so they increase across every process of the subgraph, and a reader
  that lost its connection resumes after the last id it saw: nothing published meanwhile is lost
  while the stream still holds it (pub/sub would drop those events silently).

Memory is bounded: every subscriber has a queue of ``SUBSCRIPTION_QUEUE_SIZE`` events. A subscriber
that does not keep up loses its oldest events; it is told how many with a :class:`Dropped` notice
before the events that followed the gap, and keeps its subscription.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from tokenauth.channel import stop_task

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from subgraphs.common.settings import Settings

log = logging.getLogger("dpp.events")

STREAM_PREFIX = "dpp:events:"


@dataclass(frozen=True, slots=True)
class EventDraft:
    """An event a mutation stages; it becomes an :class:`Event` when published after the commit."""

    typename: str
    key: str
    kind: str
    tenant_id: str | None
    attributes: tuple[tuple[str, str], ...] = ()


def draft(typename: str, key: str, kind: str, tenant_id: str | None, **attributes: object) -> EventDraft:
    """An :class:`EventDraft`; ``attributes`` with a ``None`` value are left out, others become strings."""
    pairs = tuple(sorted((name, _text(value)) for name, value in attributes.items() if value is not None))
    return EventDraft(typename=typename, key=key, kind=kind, tenant_id=tenant_id, attributes=pairs)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(getattr(value, "value", value))


@dataclass(frozen=True, slots=True)
class Event:
    """One published change: who it belongs to, what changed, and when (``id`` orders events)."""

    id: str
    tenant_id: str | None
    typename: str
    key: str
    kind: str
    timestamp: float  # seconds since the epoch
    attributes: Mapping[str, str] = field(default_factory=dict)

    def attribute(self, name: str) -> str | None:
        """The attribute ``name`` (``None`` when the mutation did not give it)."""
        return self.attributes.get(name)

    def describe(self) -> dict[str, Any]:
        """What a subscription's result says about the event (``extensions.event``)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "typename": self.typename,
            "key": self.key,
            "timestamp": self.timestamp,
        }

    def to_fields(self) -> dict[str, str]:
        """The Redis stream entry (the id is the stream's)."""
        return {
            "tenant": self.tenant_id or "",
            "typename": self.typename,
            "key": self.key,
            "kind": self.kind,
            "ts": repr(self.timestamp),
            "attrs": orjson.dumps(dict(self.attributes)).decode(),
        }

    @classmethod
    def from_fields(cls, event_id: str, fields: Mapping[str, str]) -> Event:
        """The event of a Redis stream entry."""
        return cls(
            id=event_id,
            tenant_id=fields.get("tenant") or None,
            typename=fields.get("typename", ""),
            key=fields.get("key", ""),
            kind=fields.get("kind", ""),
            timestamp=float(fields.get("ts") or 0),
            attributes=orjson.loads(fields.get("attrs") or "{}"),
        )


@dataclass(frozen=True, slots=True)
class Dropped:
    """A subscriber's queue overflowed: ``count`` of its oldest events were lost."""

    count: int


class EventIds:
    """``<milliseconds>-<sequence>`` ids that only go up (the format of Redis stream ids)."""

    def __init__(self) -> None:
        self._ms = 0
        self._seq = 0

    def next(self) -> str:
        """The next id, greater than every earlier one even if the clock goes back."""
        now = int(time.time() * 1000)
        if now > self._ms:
            self._ms, self._seq = now, 0
        else:
            self._seq += 1
        return f"{self._ms}-{self._seq}"


Match = Callable[[Event], bool]


class Subscriber:
    """One subscription's bounded queue of the events ``match`` accepts."""

    def __init__(self, match: Match, size: int) -> None:
        self.match = match
        self._queue: deque[Event] = deque(maxlen=max(1, size))
        self._ready = asyncio.Event()
        self._dropped = 0
        self.dropped_total = 0

    def offer(self, event: Event) -> bool:
        """Queue ``event`` when it matches, dropping the oldest queued one when full; True when queued."""
        try:
            if not self.match(event):
                return False
        except Exception:  # a filter must not stop the fan-out to other subscribers
            log.exception("event filter failed for %s %s", event.typename, event.id)
            return False
        if len(self._queue) == self._queue.maxlen:
            self._dropped += 1
            self.dropped_total += 1
        self._queue.append(event)
        self._ready.set()
        return True

    async def get(self, timeout: float | None = None) -> Event | Dropped | None:  # noqa: ASYNC109
        """The next event (or a :class:`Dropped` notice first, after an overflow); ``None`` after ``timeout``."""
        while True:
            if self._dropped:
                dropped, self._dropped = self._dropped, 0
                return Dropped(dropped)
            if self._queue:
                return self._queue.popleft()
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except TimeoutError:
                return None


class EventBus:
    """The in-process bus: ``publish`` hands events straight to this process's subscribers."""

    def __init__(self, *, queue_size: int = 100) -> None:
        self.queue_size = queue_size
        self._subscribers: set[Subscriber] = set()
        self._ids = EventIds()
        self.published = 0

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions listen in this process."""
        return len(self._subscribers)

    async def publish(self, drafts: Sequence[EventDraft]) -> list[Event]:
        """Stamp ``drafts`` with ids and a timestamp and deliver them; the published events."""
        events = [self._stamp(self._ids.next(), item) for item in drafts]
        for event in events:
            self._dispatch(event)
        return events

    def subscribe(self, match: Match) -> Subscriber:
        """A new subscriber of the events ``match`` accepts; :meth:`unsubscribe` it when done."""
        subscriber = Subscriber(match, self.queue_size)
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop delivering to ``subscriber``."""
        self._subscribers.discard(subscriber)

    async def aclose(self) -> None:
        """Forget every subscriber."""
        self._subscribers.clear()

    @staticmethod
    def _stamp(event_id: str, item: EventDraft) -> Event:
        return Event(
            id=event_id,
            tenant_id=item.tenant_id,
            typename=item.typename,
            key=item.key,
            kind=item.kind,
            timestamp=time.time(),
            attributes=dict(item.attributes),
        )

    def _dispatch(self, event: Event) -> None:
        self.published += 1
        for subscriber in list(self._subscribers):
            subscriber.offer(event)


class RedisEventBus(EventBus):
    """Events through one Redis Stream per subgraph, so that every process of the subgraph sees them all."""

    def __init__(self, url: str, stream: str, *, queue_size: int = 100, maxlen: int = 10_000) -> None:
        super().__init__(queue_size=queue_size)
        self.url = url
        self.stream = stream
        self.maxlen = maxlen
        self.block_ms = 5_000
        self._client: Redis | None = None
        self._reader: asyncio.Task[None] | None = None
        self.last_id: str | None = None
        self.reading = asyncio.Event()

    def _redis(self) -> Redis:
        if self._client is None:
            import redis.asyncio as aioredis

            self._client = aioredis.from_url(self.url, decode_responses=True)
        return self._client

    async def publish(self, drafts: Sequence[EventDraft]) -> list[Event]:
        """``XADD`` every draft (one round trip); the events with the stream's ids."""
        if not drafts:
            return []
        from redis.exceptions import ConnectionError as RedisConnectionError

        stamped = [self._stamp("", item) for item in drafts]
        for attempt in (1, 2):
            pipe = self._redis().pipeline(transaction=False)
            for event in stamped:
                pipe.xadd(self.stream, event.to_fields(), maxlen=self.maxlen, approximate=True)  # type: ignore[arg-type]
            try:
                ids = await pipe.execute()
                break
            except RedisConnectionError:
                # A pooled connection Redis closed (a restart, an idle timeout): once more on a fresh one.
                if attempt == 2:
                    raise
        return [
            Event.from_fields(str(event_id), event.to_fields()) for event_id, event in zip(ids, stamped, strict=True)
        ]

    def subscribe(self, match: Match) -> Subscriber:
        """As :meth:`EventBus.subscribe`; starts this process's stream reader on first use."""
        if self._reader is None:
            self._reader = asyncio.get_running_loop().create_task(self._read(), name=f"events-{self.stream}")
        return super().subscribe(match)

    async def ready(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until the reader has its starting point (tests, so that nothing published after is missed)."""
        await asyncio.wait_for(self.reading.wait(), timeout)

    async def _read(self) -> None:
        """Hand every new stream entry to the local subscribers; after a lost connection, resume after the last id."""
        from redis.exceptions import RedisError

        delay = 0.2
        while True:
            try:
                client = self._redis()
                if self.last_id is None:
                    newest = await client.xrevrange(self.stream, count=1)
                    self.last_id = str(newest[0][0]) if newest else "0-0"
                self.reading.set()
                delay = 0.2
                while True:
                    answer: Any = await client.xread({self.stream: self.last_id}, count=500, block=self.block_ms)
                    for _stream, entries in answer or ():
                        for event_id, fields in entries:
                            self.last_id = str(event_id)
                            self._dispatch(Event.from_fields(str(event_id), fields))
            except (RedisError, OSError) as exc:
                self.reading.clear()
                log.warning("event stream %s lost (%s); retrying in %.1fs", self.stream, type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def aclose(self) -> None:
        """Stop the reader and close the Redis client."""
        if self._reader is not None:
            await stop_task(self._reader)
            self._reader = None
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()
            self._client = None
        await super().aclose()


def open_bus(settings: Settings) -> EventBus:
    """The bus of one subgraph process: Redis Streams when ``REDIS_URL`` is set, else in-process."""
    if settings.redis_url:
        return RedisEventBus(
            settings.redis_url,
            STREAM_PREFIX + settings.service,
            queue_size=settings.subscription_queue_size,
            maxlen=settings.events_stream_maxlen,
        )
    return EventBus(queue_size=settings.subscription_queue_size)


async def publish_quietly(bus: EventBus, drafts: Iterable[EventDraft]) -> None:
    """Publish after a commit: a bus failure is logged, never turned into the mutation's failure."""
    items = list(drafts)
    if not items:
        return
    try:
        await bus.publish(items)
    except Exception:  # the data is committed; subscribers miss this change (at-most-once delivery)
        log.exception("could not publish %d event(s) of %s", len(items), items[0].typename)
