"""Listening on a Redis pub/sub channel whose messages say "what you cached may be stale".

Caches that several replicas keep (identity's caller contexts in :mod:`tokenauth.context`,
the passport subgraph's public views) drop entries when a message arrives on their channel.
:class:`ChannelListener` is that loop once: subscribe, call ``on_reset`` (anything may have
changed while nobody listened), call ``on_message`` with each message's text, and on a lost
connection reconnect with exponential backoff (0.2 s doubling to 5 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

log = logging.getLogger("tokenauth.channel")

__all__ = ["ChannelListener", "stop_task"]


class ChannelListener:
    """One task listening on ``channel`` of ``redis_url`` (started lazily, inside a running loop)."""

    def __init__(self, redis_url: str, channel: str, *, on_message: Callable[[str], None],
                 on_reset: Callable[[], None], name: str) -> None:
        self.redis_url = redis_url
        self.channel = channel
        self._on_message = on_message
        self._on_reset = on_reset
        self._name = name
        self._task: asyncio.Task[None] | None = None
        self.subscribed = False  # true while subscribed (tests wait for it)

    def start(self) -> None:
        """Start listening unless already started (call from within the event loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._listen(), name=self._name)

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        if self._task is not None:
            await stop_task(self._task)
            self._task = None

    async def _listen(self) -> None:
        import redis.asyncio as aioredis
        from redis.exceptions import RedisError

        delay = 0.2
        while True:
            connection = aioredis.from_url(self.redis_url)
            try:
                async with connection.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self._on_reset()  # anything may have changed while we were not listening
                    self.subscribed, delay = True, 0.2
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            data = message.get("data")
                            self._on_message(data.decode() if isinstance(data, bytes) else str(data))
            except (RedisError, OSError) as exc:
                log.warning("channel %s lost (%s); retrying in %.1fs", self.channel, type(exc).__name__, delay)
            finally:
                self.subscribed = False
                with contextlib.suppress(RedisError, OSError, RuntimeError):
                    await connection.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def stop_task(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait for it, cancelling again if it swallowed the first cancellation.

    redis-py can lose a cancellation that arrives while it connects; one cancel is then not enough.
    """
    deadline = time.monotonic() + 5.0
    while not task.done() and time.monotonic() < deadline:
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)
    if task.done() and not task.cancelled():
        with contextlib.suppress(Exception):
            task.result()
