"""Where Automatic Persisted Queries are kept: a bounded in-process LRU, or Redis shared by replicas."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any, Protocol

logger = logging.getLogger("gateway.persisted")

REDIS_PREFIX = "dpp:apq:"


class QueryStore(Protocol):
    """Query text by its SHA-256 hex digest."""

    async def get(self, sha256: str) -> str | None:
        """The query registered under ``sha256``, or None."""
        ...

    async def put(self, sha256: str, query: str) -> None:
        """Register ``query`` (whose digest the caller checked) under ``sha256``."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class MemoryStore:
    """Least recently used queries leave first once more than ``max_entries`` or ``max_bytes`` are held."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._queries: OrderedDict[str, str] = OrderedDict()
        self._bytes = 0

    @property
    def size(self) -> tuple[int, int]:
        """Entries and bytes held."""
        return len(self._queries), self._bytes

    async def get(self, sha256: str) -> str | None:
        """The query, marked as recently used."""
        query = self._queries.get(sha256)
        if query is not None:
            self._queries.move_to_end(sha256)
        return query

    async def put(self, sha256: str, query: str) -> None:
        """Keep ``query``; a query larger than the whole store is not kept."""
        cost = _cost(sha256, query)
        if cost > self._max_bytes:
            return
        old = self._queries.pop(sha256, None)
        if old is not None:
            self._bytes -= _cost(sha256, old)
        self._queries[sha256] = query
        self._bytes += cost
        while len(self._queries) > self._max_entries or self._bytes > self._max_bytes:
            evicted, text = self._queries.popitem(last=False)
            self._bytes -= _cost(evicted, text)

    async def aclose(self) -> None:
        """Nothing to release."""


def _cost(sha256: str, query: str) -> int:
    return len(sha256) + len(query.encode("utf-8"))


class RedisStore:
    """Queries in Redis under ``dpp:apq:<sha256>`` with a TTL renewed on registration.

    Redis being unreachable is a miss (the client sends the query again) and a failed
    registration only a log line: persisted queries are an optimisation, never a reason to fail.
    """

    def __init__(self, url: str, ttl: float) -> None:
        import redis.asyncio as redis_asyncio

        self._client: Any = redis_asyncio.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._ttl = max(1, int(ttl))

    async def get(self, sha256: str) -> str | None:
        """The query, or None when unknown or when Redis does not answer."""
        try:
            raw = await self._client.get(REDIS_PREFIX + sha256)
        except Exception as exc:
            logger.warning("APQ store: Redis lookup failed (%s); treated as a miss", type(exc).__name__)
            return None
        return raw.decode("utf-8") if isinstance(raw, bytes) else raw

    async def put(self, sha256: str, query: str) -> None:
        """Store with the TTL; a failure is logged."""
        try:
            await self._client.set(REDIS_PREFIX + sha256, query.encode("utf-8"), ex=self._ttl)
        except Exception as exc:
            logger.warning("APQ store: Redis registration failed (%s)", type(exc).__name__)

    async def aclose(self) -> None:
        """Close the connection pool (a failure is logged: the process is stopping)."""
        try:
            await self._client.aclose()
        except Exception as exc:
            logger.warning("APQ store: closing Redis failed (%s)", type(exc).__name__)
