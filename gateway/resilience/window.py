"""Two counters over a rolling time window, kept in time buckets (no per-event storage)."""

from __future__ import annotations

from collections.abc import Callable


class RollingCounts:
    """Counts of two kinds of events (say requests and failures) over the last ``window`` seconds.

    The window is cut into ``buckets`` slots of ``window / buckets`` seconds; a slot is
    reused (and zeroed) when time reaches it again, so memory is constant and an old
    slot ages out in steps of one slot. ``clock`` is a monotonic clock in seconds.
    """

    __slots__ = ("_clock", "_firsts", "_length", "_n", "_seconds", "_slots", "_width")

    def __init__(self, window: float, buckets: int, clock: Callable[[], float]) -> None:
        self._n = max(1, buckets)
        self._width = window / self._n
        self._clock = clock
        self._slots = [-1] * self._n  # which time slot each bucket holds now
        self._firsts = [0] * self._n
        self._seconds = [0] * self._n
        self._length = window

    def add(self, first: int = 1, second: int = 0) -> None:
        """Count ``first`` events of the first kind and ``second`` of the second, now."""
        slot = int(self._clock() / self._width)
        i = slot % self._n
        if self._slots[i] != slot:
            self._slots[i] = slot
            self._firsts[i] = first
            self._seconds[i] = second
        else:
            self._firsts[i] += first
            self._seconds[i] += second

    def totals(self) -> tuple[int, int]:
        """Both counts over the window that ends now."""
        oldest = int(self._clock() / self._width) - self._n + 1
        first = second = 0
        for i, slot in enumerate(self._slots):
            if slot >= oldest:
                first += self._firsts[i]
                second += self._seconds[i]
        return first, second

    def clear(self) -> None:
        """Forget every event."""
        for i in range(self._n):
            self._slots[i] = -1
            self._firsts[i] = self._seconds[i] = 0

    @property
    def window(self) -> float:
        """The window's length in seconds."""
        return self._length
