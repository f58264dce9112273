"""Awaiting many list items together, in the awaiting task, without a task per item.

graphql-core completes a list of awaitable items (the coroutines ``resolve_reference`` returns for
``_entities``, each awaiting a dataloader) by wrapping every item in two coroutines and gathering
them, one :class:`asyncio.Task` each. :func:`run_together` steps the items' own coroutines itself,
in the task that awaits it, as a task would step them: each job runs in its own copy of the
context, is resumed once the future it waits on is done (in the order those futures complete),
a bare ``yield`` gives the loop one round, and anything else it yields is refused with the error
a task raises. A job that is itself a future of the loop (what a dataloader's ``load`` returns)
is not stepped at all: its result is read once it is done. Every job is started before any is
waited on, so a dataloader still sees all keys in one batch.

When a job ends, ``finished(index, value, error)`` runs (in that task too); it may return another
awaitable (the item's completion, when its fields resolve asynchronously), which becomes the job
of that index. When ``finished`` raises (a null in a non-null list), the jobs still running are
cancelled and awaited before the error propagates, as graphql-core's ``gather_with_cancel`` does;
when the awaiting task is cancelled, the jobs are cancelled and handed to ``background``.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Generator, Iterator
from types import CoroutineType, GeneratorType, coroutine
from typing import Any

__all__ = ["Finished", "run_together"]

# finished(index, value, error) -> None, or the awaitable that completes the item further
Finished = Callable[[int, Any, "Exception | None"], "Awaitable[Any] | None"]


_FUTURE = asyncio.Future  # the C future of asyncio, whose loop_create_future is what dataloaders use


def _iterator(awaitable: Awaitable[Any]) -> Iterator[Any]:
    if isinstance(awaitable, GeneratorType):  # a generator-based coroutine
        return awaitable
    return awaitable.__await__()


class _Jobs:
    """The running jobs of one :func:`run_together` call (nothing is kept after it)."""

    __slots__ = ("bare", "contexts", "finished", "futures", "iterators", "loop", "ready", "signal", "waiting")

    def __init__(self, finished: Finished) -> None:
        self.finished = finished
        self.loop = asyncio.get_running_loop()
        self.iterators: dict[int, Iterator[Any]] = {}
        self.futures: dict[int, asyncio.Future[Any]] = {}  # jobs that are a future of this loop themselves
        self.contexts: dict[int, contextvars.Context] = {}
        self.waiting: dict[int, asyncio.Future[Any]] = {}  # the future each job waits on
        self.ready: list[int] = []  # jobs to resume, in the order their futures completed
        self.bare: list[int] = []  # jobs that yielded None: resumed after one round of the loop
        self.signal: asyncio.Future[None] | None = None

    def start(self, index: int, awaitable: Awaitable[Any]) -> None:
        if type(awaitable) is _FUTURE and awaitable.get_loop() is self.loop:  # type: ignore[attr-defined]
            future: asyncio.Future[Any] = awaitable  # type: ignore[assignment]
            self.futures[index] = future  # a dataloader's: awaiting it is reading its result once done
            if future.done():
                self.settle(index)
            else:
                self.waiting[index] = future
                future.add_done_callback(self._waker(index))
            return
        self.iterators[index] = _iterator(awaitable)
        self.contexts[index] = contextvars.copy_context()
        self.step(index)

    def step(self, index: int) -> None:
        iterator = self.iterators[index]
        context = self.contexts[index]
        send: Callable[[Any], Any] = iterator.send  # type: ignore[attr-defined]
        value: Any = None
        while True:
            try:
                yielded = context.run(send, value)
            except StopIteration as stop:
                self.end(index, stop.value, None)
                return
            except Exception as error:
                self.end(index, None, error)
                return
            if getattr(yielded, "_asyncio_future_blocking", None) is True and asyncio.isfuture(yielded):
                if yielded.get_loop() is self.loop:
                    yielded._asyncio_future_blocking = False
                    self.waiting[index] = yielded
                    yielded.add_done_callback(self._waker(index))
                    return
            elif yielded is None:
                self.bare.append(index)
                return
            # what a task says to a coroutine that yields anything else
            send, value = iterator.throw, RuntimeError(f"Task got bad yield: {yielded!r}")  # type: ignore[attr-defined]

    def _waker(self, index: int) -> Callable[[asyncio.Future[Any]], None]:
        def wake(_future: asyncio.Future[Any]) -> None:
            if self.waiting.pop(index, None) is None:
                return  # stopped meanwhile
            self.ready.append(index)
            signal = self.signal
            if signal is not None and not signal.done():
                signal.set_result(None)

        return wake

    def settle(self, index: int) -> None:
        """A job that is a future, done: its result (a cancelled one raises CancelledError, as awaiting it would)."""
        future = self.futures.pop(index)
        error = future.exception()
        if error is None:
            self.end_future(index, future.result(), None)
        elif isinstance(error, Exception):
            self.end_future(index, None, error)
        else:
            raise error

    def end_future(self, index: int, value: Any, error: Exception | None) -> None:
        further = self.finished(index, value, error)
        if further is not None:
            self.start(index, further)

    def end(self, index: int, value: Any, error: Exception | None) -> None:
        del self.iterators[index]
        del self.contexts[index]
        further = self.finished(index, value, error)
        if further is not None:
            self.start(index, further)

    async def run(self) -> None:
        while self.iterators or self.futures:
            if self.bare:
                await asyncio.sleep(0)
                self.ready.extend(self.bare)
                self.bare.clear()
            elif not self.ready:
                self.signal = self.loop.create_future()
                try:
                    await self.signal
                finally:
                    self.signal = None
            batch = self.ready
            self.ready = []
            for index in batch:
                if index in self.iterators:
                    self.step(index)
                elif index in self.futures:
                    self.settle(index)

    def stop(self) -> list[Awaitable[Any]]:
        """Cancel the jobs still running; returns what lets each of them settle."""
        settling: list[Awaitable[Any]] = []
        for index, iterator in self.iterators.items():
            future = self.waiting.pop(index, None)
            if future is not None:
                future.cancel()
            settling.append(_settle(iterator, future))
        for future in self.futures.values():
            future.cancel()  # as gather_with_cancel cancels a future it was given
        self.futures.clear()
        self.waiting.clear()
        self.iterators.clear()
        self.contexts.clear()
        self.ready.clear()
        self.bare.clear()
        return settling


@coroutine
def _settle(iterator: Iterator[Any], future: asyncio.Future[Any] | None) -> Generator[Any, Any, Any]:
    """A started job, cancelled: waits for its (cancelled) future, then runs it to its end."""
    if future is not None and not future.done():
        future._asyncio_future_blocking = True
        yield future
    return (yield from iterator)


def _dispose(awaitable: Awaitable[Any]) -> Awaitable[Any] | None:
    """A job never started, as ``gather_with_cancel`` would leave it: cancelled."""
    if isinstance(awaitable, CoroutineType):
        awaitable.close()
        return None
    if asyncio.isfuture(awaitable):
        awaitable.cancel()
    return awaitable


async def run_together(
    jobs: list[tuple[int, Awaitable[Any]]],
    finished: Finished,
    background: Callable[[list[Awaitable[Any]]], None],
) -> None:
    """Await every ``(index, awaitable)`` of ``jobs`` together, calling ``finished`` as each ends."""
    state = _Jobs(finished)
    started = 0
    try:
        for index, awaitable in jobs:
            started += 1
            state.start(index, awaitable)
        await state.run()
    except BaseException as error:
        settling = state.stop()
        settling.extend(left for _index, job in jobs[started:] if (left := _dispose(job)) is not None)
        if isinstance(error, Exception) and settling:
            await asyncio.gather(*settling, return_exceptions=True)
        elif settling:
            background(settling)
        raise
