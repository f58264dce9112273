"""run_together (subgraphs/common/fast_gather.py) steps jobs as tasks would, and cleans up as gather_with_cancel."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable
from typing import Any

import pytest

from subgraphs.common.fast_gather import run_together

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="outer")


def _collect(results: dict[int, Any]) -> Any:
    def finished(index: int, value: Any, error: Exception | None) -> Awaitable[Any] | None:
        results[index] = error if error is not None else value
        return None

    return finished


def test_values_errors_order_and_contexts() -> None:
    order: list[str] = []

    async def job(name: str, rounds: int, fail: bool = False) -> str:
        VAR.set(name)  # each job has its own context, as a task has
        for _ in range(rounds):
            await asyncio.sleep(0)
        order.append(name)
        assert VAR.get() == name
        if fail:
            raise ValueError(name)
        return name

    async def main() -> dict[int, Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        loop.call_later(0.01, future.set_result, "f")
        results: dict[int, Any] = {}
        await run_together(
            [(0, job("a", 3)), (1, job("b", 1)), (2, job("c", 0, fail=True)), (3, future)],
            _collect(results),
            lambda _pending: None,
        )
        assert VAR.get() == "outer"
        return results

    results = asyncio.run(main())
    assert order == ["c", "b", "a"]
    assert results[0] == "a" and results[1] == "b" and results[3] == "f"
    assert isinstance(results[2], ValueError)


def test_further_completion_and_bad_yield() -> None:
    class Bad:
        def __await__(self) -> Any:
            yield "not a future"

    async def main() -> dict[int, Any]:
        results: dict[int, Any] = {}

        async def double(value: int) -> int:
            await asyncio.sleep(0)
            return value * 2

        def finished(index: int, value: Any, error: Exception | None) -> Awaitable[Any] | None:
            if index == 0 and value == 1:
                return double(value)  # the item's completion becomes its job
            results[index] = error if error is not None else value
            return None

        async def one() -> int:
            return 1

        await run_together([(0, one()), (1, Bad())], finished, lambda _pending: None)
        return results

    results = asyncio.run(main())
    assert results[0] == 2
    assert isinstance(results[1], RuntimeError) and "bad yield" in str(results[1])


def test_finished_raising_cancels_and_awaits_the_others() -> None:
    cleaned: list[str] = []

    async def slow(name: str) -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            await asyncio.sleep(0)  # cleanup that awaits still runs to its end
            cleaned.append(name)
            raise
        return name

    async def fails() -> None:
        await asyncio.sleep(0)

    def finished(index: int, value: Any, error: Exception | None) -> Awaitable[Any] | None:
        if index == 1:
            raise TypeError("a null in a non-null list")
        return None

    async def main() -> None:
        never = slow("never started")
        with pytest.raises(TypeError):
            await run_together([(0, slow("a")), (1, fails()), (2, slow("b"))], finished, lambda _pending: None)
        assert cleaned == ["a", "b"]  # awaited before the error propagates
        never.close()

    asyncio.run(main())


def test_cancelled_caller_hands_the_jobs_to_background() -> None:
    cleaned: list[str] = []
    background: list[Awaitable[Any]] = []

    async def slow(name: str) -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cleaned.append(name)
            raise

    async def main() -> None:
        task = asyncio.ensure_future(run_together([(0, slow("a")), (1, slow("b"))], _collect({}), background.extend))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(background) == 2
        await asyncio.gather(*background, return_exceptions=True)
        assert cleaned == ["a", "b"]

    asyncio.run(main())


def test_futures_are_read_once_done() -> None:
    async def main() -> dict[int, Any]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[str] = loop.create_future()
        done.set_result("done")
        later: asyncio.Future[str] = loop.create_future()
        failing: asyncio.Future[str] = loop.create_future()
        loop.call_soon(later.set_result, "later")
        loop.call_soon(failing.set_exception, ValueError("failed"))
        results: dict[int, Any] = {}
        await run_together([(0, later), (1, done), (2, failing)], _collect(results), lambda _pending: None)
        return results

    results = asyncio.run(main())
    assert results[0] == "later" and results[1] == "done"
    assert isinstance(results[2], ValueError)


def test_a_cancelled_future_cancels_the_rest() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        cancelled: asyncio.Future[str] = loop.create_future()
        pending: asyncio.Future[str] = loop.create_future()
        loop.call_soon(cancelled.cancel)
        with pytest.raises(asyncio.CancelledError):
            await run_together([(0, cancelled), (1, pending)], _collect({}), lambda _pending: None)
        assert pending.cancelled()

    asyncio.run(main())
