"""Which supergraph the server is answering with, swapped atomically on hot reload."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.contracts import Runtime


def sdl_digest(sdl: str | bytes) -> str:
    """The SHA-256 hex digest that identifies one supergraph text."""
    data = sdl.encode("utf-8") if isinstance(sdl, str) else sdl
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class LoadedSupergraph:
    """A runtime together with the identity of the supergraph it was built from."""

    runtime: Runtime
    sha256: str
    loaded_at: datetime


@dataclass(frozen=True, slots=True)
class RejectedSupergraph:
    """A supergraph text that failed to load; the previous one kept serving."""

    sha256: str
    rejected_at: datetime
    reason: str


class GatewayState:
    """The current runtime of one server.

    A request reads :attr:`current` once and keeps that object for its whole life,
    so swapping in a new supergraph never changes the runtime under a request in
    flight: it finishes on the old one and the old one is collected afterwards.
    """

    def __init__(self) -> None:
        self._current: LoadedSupergraph | None = None
        self._rejected: RejectedSupergraph | None = None
        self._listeners: list[Callable[[LoadedSupergraph], None]] = []

    def on_install(self, listener: Callable[[LoadedSupergraph], None]) -> Callable[[], None]:
        """Call ``listener`` with each supergraph installed from now on (hot reload: the
        subscription service re-prepares its running subscriptions); returns what removes it."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    @property
    def current(self) -> LoadedSupergraph | None:
        """The supergraph new requests use, or ``None`` before the first load."""
        return self._current

    @property
    def last_rejected(self) -> RejectedSupergraph | None:
        """The most recent supergraph text that failed to load, if any."""
        return self._rejected

    def install(self, runtime: Runtime, sha256: str) -> LoadedSupergraph:
        """Make ``runtime`` the one new requests use."""
        loaded = LoadedSupergraph(runtime=runtime, sha256=sha256, loaded_at=datetime.now(UTC))
        # A single attribute assignment: readers see either the old or the new object.
        self._current = loaded
        self._rejected = None
        for listener in list(self._listeners):
            listener(loaded)
        return loaded

    def reject(self, sha256: str, reason: str) -> RejectedSupergraph:
        """Record that a supergraph text failed to load (the current one stays)."""
        rejected = RejectedSupergraph(sha256=sha256, rejected_at=datetime.now(UTC), reason=reason)
        self._rejected = rejected
        return rejected
