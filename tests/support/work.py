"""Work measured in Python function calls, not seconds: a bound that holds on a loaded machine.

The developers' guide forbids timed unit tests (shared, noisy machines); "work is never exponential in
the input" is still worth pinning. :func:`calls_made` counts the Python-level calls (``sys.setprofile``'s
``call`` events, C calls left out) a callable makes on this thread: deterministic for the same code and
input, so a test can compare the work of two input sizes (linear vs exponential) or bound it outright.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any, Generic, TypeVar

__all__ = ["Work", "calls_made"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Work(Generic[T]):
    """What a call returned, how many Python calls it made, and the names of the functions it entered."""

    result: T
    calls: int
    entered: frozenset[str]


def calls_made(action: Callable[[], T]) -> Work[T]:
    """Run ``action`` on this thread, counting the Python function calls it makes."""
    count = 0
    entered: set[str] = set()

    def profile(frame: FrameType, event: str, _arg: Any) -> None:
        nonlocal count
        if event == "call":
            count += 1
            code = frame.f_code
            entered.add(f"{frame.f_globals.get('__name__', '?')}.{code.co_qualname}")

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        result = action()
    finally:
        sys.setprofile(previous)
    return Work(result, count, frozenset(entered))
