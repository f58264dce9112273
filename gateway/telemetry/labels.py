"""Bounded label values: what a client sends never grows the number of time series without limit.

An operation name becomes a label value when it is in the known set (persisted or configured
names) or while fewer than ``max_names`` distinct names have been admitted; any other name, and
the name of an operation that never ran (a request error), is counted as ``other``. Client
name/version pairs are bounded the same way. One :class:`BoundedLabels` belongs to one
metrics registry (one application), never to the module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

OTHER = "other"
NONE = ""

_PRINTABLE = re.compile(r"^[\x21-\x7e]{1,64}$")


class BoundedLabels:
    """Admits at most ``max_values`` distinct values (plus the ``known`` ones); others read ``other``."""

    __slots__ = ("_admitted", "_known", "_max")

    def __init__(self, max_values: int, known: Iterable[str] = ()) -> None:
        self._max = max_values
        self._known = frozenset(known)
        self._admitted: set[str] = set()

    def value(self, raw: str | None, *, admit: bool = True) -> str:
        """The label value for ``raw``: itself when known or admitted, ``""`` when absent, else ``other``.

        ``admit=False`` never takes a new slot (for names of operations that did not run).
        """
        if not raw:
            return NONE
        if raw in self._known or raw in self._admitted:
            return raw
        if not admit or len(self._admitted) >= self._max or not _PRINTABLE.match(raw):
            return OTHER
        self._admitted.add(raw)
        return raw

    def __len__(self) -> int:
        return len(self._admitted)
