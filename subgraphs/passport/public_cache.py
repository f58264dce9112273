"""The public view of published passports, cached: what a QR code scan reads without the database.

A published version is immutable; what ``publicPassport`` shows of it changes only when the
passport is published again, revised, revoked or archived. :class:`PublicViewCache` keeps the
views in a bounded in-process LRU (``PUBLIC_PASSPORT_CACHE_SIZE`` entries, 0: off) for at most
``PUBLIC_PASSPORT_CACHE_TTL`` seconds, so a hit costs no statement at all. With ``REDIS_URL``
the views are shared by the replicas through Redis, and every passport mutation, once committed,
is announced on :data:`INVALIDATE_CHANNEL` (the pattern of ``dpp:auth:invalidate``): each replica
drops that passport's view from its LRU at once.

Two races are closed, not left to the TTL:

* a reader that loaded the old state before a change committed must not store it after the
  change's invalidation reached its replica: an invalidation bumps the cache's epoch, and a view
  is kept only when the epoch did not move while it was loaded;
* across replicas, a reader may write the old view into Redis after the writer dropped it. Each
  passport has a generation counter in Redis, incremented by every invalidation; a view is written
  with the generation read before loading it, and read back only while the generation is the same.

A lost Redis connection degrades to the database (never to an error); the subscriber reconnects
and then empties the LRU, since invalidations may have been missed meanwhile.

Concurrent misses of one uuid share one load ("single flight", :class:`_Flight`): the first runs
the Redis lookup and ``load()`` in its own request (the load uses that request's session, which
closes with it, so it is never run as a task of its own that could outlive the request); the
others wait for its outcome, the view or a copy of its error. When the loading request is
cancelled, the waiters look again and one of them loads with its own request. A flight started
before an invalidation is joined by no request that arrives after it: that one loads afresh.

The LRU keeps each view packed (:mod:`subgraphs.passport.public_packing`), which the cyclic garbage
collector does not walk.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import orjson
from aiodataloader import DataLoader

from subgraphs.common.context import RequestContext
from subgraphs.passport import domain, repository
from subgraphs.passport.content import FieldDefinition
from subgraphs.passport.domain import PublicField, PublicView
from subgraphs.passport.public_packing import Packed, Packer
from tokenauth.channel import ChannelListener

log = logging.getLogger("dpp.passport.cache")

INVALIDATE_CHANNEL = "dpp:passport:public:invalidate"
VIEW_KEY = "dpp:passport:public:view:{}"
GENERATION_KEY = "dpp:passport:public:gen:{}"
# Seconds Redis is left alone after it failed (requests go to the database meanwhile).
REDIS_BACKOFF = 5.0
# Seconds a Redis call may take before the database answers instead.
REDIS_TIMEOUT = 0.5

Loader = Callable[[], Awaitable[PublicView]]


def view_to_json(view: PublicView) -> dict[str, Any]:
    """``view`` as JSON (datetimes in ISO 8601), for Redis."""
    return {
        "uuid": view.uuid,
        "name": view.name,
        "status": view.status,
        "version": view.version,
        "publishedAt": view.published_at.isoformat(),
        "contentHash": view.content_hash,
        "previousHash": view.previous_hash,
        "revokedAt": _iso(view.revoked_at),
        "revocationReason": view.revocation_reason,
        "archivedAt": _iso(view.archived_at),
        "productId": view.product_id,
        "templateId": view.template_id,
        "templateVersion": view.template_version,
        "fields": [{"definition": f.definition.to_json(), "value": f.value} for f in view.fields],
        "productName": view.product_name,
        "productCategory": view.product_category,
    }


def view_from_json(data: dict[str, Any]) -> PublicView:
    """The view :func:`view_to_json` wrote."""
    return PublicView(
        uuid=data["uuid"],
        name=data["name"],
        status=data["status"],
        version=int(data["version"]),
        published_at=datetime.fromisoformat(data["publishedAt"]),
        content_hash=data["contentHash"],
        previous_hash=data["previousHash"],
        revoked_at=_datetime(data["revokedAt"]),
        revocation_reason=data["revocationReason"],
        archived_at=_datetime(data["archivedAt"]),
        product_id=data["productId"],
        template_id=data["templateId"],
        template_version=int(data["templateVersion"]),
        fields=tuple(PublicField(FieldDefinition.from_json(f["definition"]), f["value"]) for f in data["fields"]),
        product_name=data["productName"],
        product_category=data["productCategory"],
    )


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _datetime(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


class _Flight:
    """One load of a view that concurrent misses of its uuid wait for; ``landed`` is set when it ended.

    Then ``view`` or ``error`` (without traceback) is its outcome; neither when its request was cancelled.
    """

    __slots__ = ("epoch", "error", "landed", "view")

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch  # the cache's epoch when it started: a later invalidation makes it stale
        self.landed = asyncio.Event()
        self.view: PublicView | None = None
        self.error: Exception | None = None


def _bare(error: Exception) -> Exception:
    """A copy of ``error`` without traceback, cause or context, for one more task to raise.

    Raising one exception object in several tasks would append each task's frames to its traceback
    (and keep them alive); a copy per raise leaves the original alone.
    """
    try:
        bare = copy.copy(error)
    except Exception:  # an exception type that cannot be rebuilt from its args
        return RuntimeError(f"loading the public view failed ({type(error).__name__})")
    if isinstance(getattr(bare, "__notes__", None), list):
        bare.__notes__ = list(bare.__notes__)
    return bare


class PublicViewCache:
    """Public views by passport uuid: in-process LRU, shared through Redis when ``redis_url`` is set.

    One per passport subgraph process (:func:`public_views`). ``max_entries`` 0 turns it off:
    every read loads, nothing is kept (the statement-count tests run so).
    """

    def __init__(self, max_entries: int, ttl: float, redis_url: str | None = None) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        self.redis_url = redis_url or None
        self.hits = 0
        self.misses = 0
        self._views: OrderedDict[str, Packed] = OrderedDict()  # packed by self._packer, expiry first
        self._packer = Packer()
        self._epoch = 0
        self._flights: dict[str, _Flight] = {}  # uuid -> the load in flight that misses of it wait for
        self.shared = 0  # misses that waited for another request's load
        self._redis: Any = None
        self._redis_down_until = 0.0
        # drops a view (or all, on reconnect) when any replica says it changed
        self._listener = (
            ChannelListener(
                self.redis_url,
                INVALIDATE_CHANNEL,
                on_message=self.drop,
                on_reset=self.drop,
                name="passport-public-invalidate",
            )
            if self.redis_url is not None
            else None
        )

    @property
    def subscribed(self) -> bool:
        """Whether this process is listening for other replicas' invalidations."""
        return self._listener is not None and self._listener.subscribed

    @property
    def enabled(self) -> bool:
        """False when configured off (size 0)."""
        return self.max_entries > 0

    async def get(self, uuid: str, load: Loader) -> PublicView:
        """The public view of ``uuid``: cached, else from Redis, else ``load()`` (whose errors pass through)."""
        if not self.enabled:
            return await load()
        if self._listener is not None:
            self._listener.start()
        while True:
            entry = self._views.get(uuid)
            if entry is not None:
                if entry[0] > time.monotonic():
                    self._views.move_to_end(uuid)
                    self.hits += 1
                    return self._packer.unpack(entry)
                del self._views[uuid]
            flight = self._flights.get(uuid)
            if flight is None or flight.epoch != self._epoch:  # none, or started before an invalidation
                return await self._fly(uuid, load)
            self.shared += 1
            await flight.landed.wait()
            if flight.error is not None:
                raise _bare(flight.error) from None
            if flight.view is not None:
                return flight.view
            # its loader was cancelled: look again (another flight may have started), else load here

    async def _fly(self, uuid: str, load: Loader) -> PublicView:
        """Load ``uuid``'s view as the flight others wait for; keep it unless invalidated meanwhile."""
        self.misses += 1
        flight = self._flights[uuid] = _Flight(self._epoch)
        try:
            view, generation = await self._shared_get(uuid)
            loaded = view is None
            view = flight.view = await load() if view is None else view
            if loaded and generation is not None:
                await self._shared_put(uuid, view, generation)
            if flight.epoch == self._epoch:
                self._keep(uuid, view)
            return view
        except Exception as exc:
            flight.error = _bare(exc)  # no traceback: the flight does not keep this request's frames
            raise
        finally:  # landed: with a view, an error, or neither (cancelled: the waiters look again)
            if self._flights.get(uuid) is flight:
                del self._flights[uuid]
            flight.landed.set()

    async def forget(self, uuid: str) -> None:
        """Drop ``uuid``'s view here and, with Redis, on every replica (call after the change committed)."""
        self.drop(uuid)
        if not self.enabled or self.redis_url is None:
            return
        redis = self._client()
        if redis is None:
            log.error("could not announce a change of passport %s (Redis unavailable): replicas expire it", uuid)
            return
        try:
            async with redis.pipeline(transaction=True) as pipe:
                pipe.incr(GENERATION_KEY.format(uuid))
                pipe.expire(GENERATION_KEY.format(uuid), int(self.ttl * 2) + 60)
                pipe.delete(VIEW_KEY.format(uuid))
                pipe.publish(INVALIDATE_CHANNEL, uuid)
                await asyncio.wait_for(pipe.execute(), REDIS_TIMEOUT * 4)
        except Exception as exc:  # any Redis failure: the TTL bounds the staleness
            self._redis_failed(exc)
            log.error("could not announce a change of passport %s (%s): replicas expire it", uuid, exc)

    def drop(self, uuid: str | None = None) -> None:
        """Forget ``uuid``'s view in this process (every view when None); loads in flight are neither kept
        nor shared with a request that comes after this."""
        self._epoch += 1
        if uuid is None:
            self._views.clear()
        else:
            self._views.pop(uuid, None)

    def __len__(self) -> int:
        return len(self._views)

    @property
    def in_flight(self) -> int:
        """Loads running now (each shared by the concurrent misses of its uuid)."""
        return len(self._flights)

    async def aclose(self) -> None:
        """Stop listening and close the Redis client."""
        if self._listener is not None:
            await self._listener.stop()
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()
            self._redis = None
        self._views.clear()

    def _keep(self, uuid: str, view: PublicView) -> None:
        self._views[uuid] = self._packer.pack(view, time.monotonic() + self.ttl)
        self._views.move_to_end(uuid)
        while len(self._views) > self.max_entries:
            self._views.popitem(last=False)

    # -- Redis ----------------------------------------------------------------------------------

    def _client(self) -> Any:
        if self.redis_url is None or time.monotonic() < self._redis_down_until:
            return None
        if self._redis is None:
            import redis.asyncio as aioredis

            self._redis = aioredis.from_url(
                self.redis_url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
            )
        return self._redis

    def _redis_failed(self, exc: BaseException) -> None:
        if time.monotonic() >= self._redis_down_until:
            log.warning("public passport cache: Redis failed (%s); using the database for %.0fs", exc, REDIS_BACKOFF)
        self._redis_down_until = time.monotonic() + REDIS_BACKOFF

    async def _shared_get(self, uuid: str) -> tuple[PublicView | None, int | None]:
        """The view in Redis if its generation is current, and the current generation (None: no Redis)."""
        redis = self._client()
        if redis is None:
            return None, None
        try:
            raw, generation = await asyncio.wait_for(
                redis.mget(VIEW_KEY.format(uuid), GENERATION_KEY.format(uuid)), REDIS_TIMEOUT * 2
            )
        except Exception as exc:  # degrade to the database
            self._redis_failed(exc)
            return None, None
        current = int(generation or 0)
        if raw is None:
            return None, current
        try:
            stored = orjson.loads(raw)
            if int(stored["g"]) != current:
                return None, current
            return view_from_json(stored["v"]), current
        except (ValueError, KeyError, TypeError):
            return None, current

    async def _shared_put(self, uuid: str, view: PublicView, generation: int) -> None:
        redis = self._client()
        if redis is None:
            return
        body = orjson.dumps({"g": generation, "v": view_to_json(view)})
        try:
            await asyncio.wait_for(redis.set(VIEW_KEY.format(uuid), body, ex=max(1, int(self.ttl))), REDIS_TIMEOUT * 2)
        except Exception as exc:  # the next reader loads it again
            self._redis_failed(exc)


_RUNTIME_KEY = "passport.public_views"


def public_views(runtime: Any) -> PublicViewCache:
    """The process's cache of public views, made on first use from the runtime's settings."""
    cache = runtime.extra.get(_RUNTIME_KEY)
    if cache is None:
        settings = runtime.settings
        cache = PublicViewCache(
            settings.public_passport_cache_size, settings.public_passport_cache_ttl, settings.redis_url
        )
        runtime.extra[_RUNTIME_KEY] = cache
        runtime.closers.append(cache.aclose)
    return cache  # type: ignore[no-any-return]


async def load_public_view(ctx: RequestContext, uuid: str) -> PublicView:
    """The public view of ``uuid`` from the database (NOT_FOUND as :func:`domain.public_view` says).

    The public uuids a request (or a subscription's event) asks for are loaded together, passport and
    version in one statement.
    """

    async def batch(uuids: Sequence[str]) -> list[repository.PublicRow | None]:
        async with ctx.database.public_read() as connection:
            return await repository.public_passports(connection, uuids)

    row = await ctx.loader("passport.public_rows", lambda: DataLoader(batch_load_fn=batch)).load(uuid)
    return domain.public_view(uuid, row)
