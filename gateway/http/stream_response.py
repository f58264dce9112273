"""The ASGI response of the HTTP streaming protocols (graphql-sse, multipart): bounded writes, a farewell."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from gateway.http.guards import STREAM_SHUTDOWN

__all__ = ["BoundedStreamingResponse"]

logger = logging.getLogger("gateway.http.streams")


class BoundedStreamingResponse(Response):
    """An ASGI streaming response whose every write waits at most ``send_timeout`` seconds.

    Starlette's ``StreamingResponse`` waits for a client that stops reading forever; this one
    gives up (the connection is closed, ``chunks`` is closed) once a write has waited that long.
    A client disconnect stops the stream at once too. When the server stops (the scope's
    :data:`~gateway.http.guards.STREAM_SHUTDOWN` callback), ``chunks`` is closed and ``farewell``
    is the last thing written.
    """

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str,
        headers: Mapping[str, str],
        send_timeout: float,
        on_end: Callable[[], None],
        farewell: bytes = b"",
    ) -> None:
        self.status_code = 200
        self.background = None
        self._chunks = chunks
        self._raw = [(b"content-type", content_type.encode("latin-1"))] + [
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
        ]
        self._send_timeout = send_timeout if send_timeout > 0 else None
        self._on_end = on_end
        self._farewell = farewell
        self._started = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        stopping = asyncio.Event()
        scope[STREAM_SHUTDOWN] = stopping.set
        writer = asyncio.ensure_future(self._write(send))
        listener = asyncio.ensure_future(_disconnected(receive))
        stopper = asyncio.ensure_future(stopping.wait())
        tasks = (writer, listener, stopper)
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if stopping.is_set() and not writer.done() and not listener.done():
                writer.cancel()  # uvicorn writes a chunk whole or not at all: the farewell follows a whole one
                with contextlib.suppress(BaseException):
                    await writer
                await self._say_farewell(send)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task
            self._on_end()

    async def _say_farewell(self, send: Send) -> None:
        try:
            async with asyncio.timeout(self._send_timeout):
                if not self._started:
                    await send({"type": "http.response.start", "status": 200, "headers": self._raw})
                await send({"type": "http.response.body", "body": self._farewell, "more_body": False})
        except (TimeoutError, OSError):
            pass

    async def _write(self, send: Send) -> None:
        try:
            async with asyncio.timeout(self._send_timeout):
                await send({"type": "http.response.start", "status": 200, "headers": self._raw})
            self._started = True
            async for chunk in self._chunks:
                async with asyncio.timeout(self._send_timeout):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            async with asyncio.timeout(self._send_timeout):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except TimeoutError:
            logger.info("streaming client did not read for %s s: dropped", self._send_timeout)
        except OSError:
            pass  # the client went away while we wrote
        finally:
            await _close(self._chunks)


async def _close(chunks: AsyncIterator[bytes]) -> None:
    close = getattr(chunks, "aclose", None)
    if close is not None:
        await close()


async def _disconnected(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
