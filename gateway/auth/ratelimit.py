"""Fixed-window request counters: in memory (one process) or in Redis (shared by every replica).

A window starts with the first request of a key and lasts ``window`` seconds; the key's
counter then starts again at zero. Past ``limit`` requests in a window the caller is told
how many seconds are left (``Retry-After``). Keys are ``tenant:<id>``, ``user:<id>`` (a signed-in
user without a tenant) or ``addr:<client address>`` (anonymous callers); the edge picks them.

In Redis one Lua script increments the counter and sets its expiry atomically, so replicas
sharing the server share the count and a crashed replica leaves no counter without expiry.
When Redis cannot be reached the request is let through and a warning logged (at most once
per ``window``): a limiter outage must not become a gateway outage.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("gateway.ratelimit")

KEY_PREFIX = "dpp:gateway:ratelimit:"

# KEYS[1] = counter, ARGV[1] = window in ms. Returns {count, ms until the window ends}.
_INCREMENT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer for one request: allowed or not, and the seconds until the window resets."""

    allowed: bool
    count: int
    limit: int
    retry_after: int


ALLOWED = Decision(allowed=True, count=0, limit=0, retry_after=0)


class RateLimiter(Protocol):
    """Counts one request against ``key``; ``limit`` requests per window are allowed."""

    window: float

    async def hit(self, key: str, limit: int) -> Decision: ...

    async def aclose(self) -> None: ...


def _decision(count: int, limit: int, remaining_seconds: float) -> Decision:
    return Decision(
        allowed=count <= limit,
        count=count,
        limit=limit,
        retry_after=max(1, math.ceil(remaining_seconds)),
    )


class MemoryRateLimiter:
    """Counters of one process, at most ``max_keys`` of them (the oldest window is forgotten first)."""

    def __init__(self, window: float, *, max_keys: int = 100_000) -> None:
        self.window = window
        self._max_keys = max_keys
        # key -> (window end, count); insertion order is window-start order, since every
        # window has the same length and a key moves to the end when its window restarts.
        self._counters: OrderedDict[str, tuple[float, int]] = OrderedDict()

    async def hit(self, key: str, limit: int) -> Decision:
        """Count a request (no awaits inside: atomic on the event loop)."""
        now = time.monotonic()
        entry = self._counters.get(key)
        if entry is None or entry[0] <= now:
            self._counters.pop(key, None)
            self._evict(now)
            entry = (now + self.window, 0)
        ends, count = entry[0], entry[1] + 1
        self._counters[key] = (ends, count)
        return _decision(count, limit, ends - now)

    def _evict(self, now: float) -> None:
        counters = self._counters
        while counters:
            oldest = next(iter(counters))
            if counters[oldest][0] > now and len(counters) < self._max_keys:
                return
            del counters[oldest]

    def __len__(self) -> int:
        return len(self._counters)

    async def aclose(self) -> None:
        """Forget every counter."""
        self._counters.clear()


class RedisRateLimiter:
    """Counters in Redis under ``dpp:gateway:ratelimit:<key>``, shared by every gateway using the server."""

    def __init__(self, redis_url: str, window: float, *, prefix: str = KEY_PREFIX) -> None:
        import redis.asyncio as aioredis

        self.window = window
        self._prefix = prefix
        self._window_ms = max(1, int(window * 1000))
        self._client: Any = aioredis.from_url(redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._script: Any = self._client.register_script(_INCREMENT)
        self._warned_at = float("-inf")

    async def hit(self, key: str, limit: int) -> Decision:
        """Count a request in Redis; allowed (with a logged warning) when Redis is unreachable."""
        from redis.exceptions import RedisError

        try:
            count, ttl_ms = await self._script(keys=[self._prefix + key], args=[self._window_ms])
        except (RedisError, OSError) as exc:
            now = time.monotonic()
            if now - self._warned_at >= self.window:
                self._warned_at = now
                log.warning("rate limiter: Redis unavailable (%s); requests are not being limited", exc)
            return ALLOWED
        return _decision(int(count), limit, int(ttl_ms) / 1000)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


def build_rate_limiter(window: float, redis_url: str | None) -> RateLimiter:
    """Redis-backed when ``redis_url`` is set, in memory otherwise."""
    if redis_url:
        return RedisRateLimiter(redis_url, window)
    return MemoryRateLimiter(window)
