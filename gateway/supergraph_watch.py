"""Watching the supergraph file of ``gateway serve``: :class:`SupergraphWatcher` polls it (mtime, size and
inode, then a SHA-256 of the text when those change) and installs each new text, built into a runtime
off the event loop, into a :class:`~gateway.http.state.GatewayState` (see gateway/serve.py)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gateway.contracts import Runtime
from gateway.http.state import GatewayState, sdl_digest

__all__ = ["RuntimeFactory", "SupergraphWatcher"]

logger = logging.getLogger("gateway.serve")

RuntimeFactory = Callable[[str], Runtime]
"""Builds a runtime from supergraph SDL; raises on an invalid supergraph."""


@dataclass(frozen=True, slots=True)
class _FileStamp:
    mtime_ns: int
    size: int
    inode: int


class SupergraphWatcher:
    """Loads the supergraph file into a :class:`GatewayState` and reloads it when it changes."""

    def __init__(
        self,
        path: Path,
        state: GatewayState,
        factory: RuntimeFactory,
        poll_interval: float,
        on_install: Callable[[], None] | None = None,
    ) -> None:
        self._path = path
        self._on_install = on_install
        self._state = state
        self._factory = factory
        self._poll_interval = poll_interval
        self._stamp: _FileStamp | None = None
        self._missing_logged = False

    async def check(self) -> bool:
        """Look at the file once; load it if its text is new. True when a new runtime was installed."""
        try:
            stat = os.stat(self._path)
        except OSError as exc:
            if not self._missing_logged:
                logger.warning("supergraph %s cannot be read (%s); still watching", self._path, exc.strerror)
                self._missing_logged = True
            self._stamp = None
            return False
        self._missing_logged = False
        stamp = _FileStamp(stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if stamp == self._stamp:
            return False
        try:
            raw = self._path.read_bytes()
        except OSError as exc:
            logger.warning("supergraph %s cannot be read (%s); will retry", self._path, exc.strerror)
            return False
        self._stamp = stamp
        digest = sdl_digest(raw)
        current, rejected = self._state.current, self._state.last_rejected
        if current is not None and current.sha256 == digest:
            return False  # touched, not changed
        if rejected is not None and rejected.sha256 == digest:
            return False  # the same broken text again: already logged
        return await self._load(raw, digest)

    async def _load(self, raw: bytes, digest: str) -> bool:
        try:
            sdl = raw.decode("utf-8")
            # Building a runtime parses and indexes the whole supergraph: keep it off the loop.
            runtime = await asyncio.to_thread(self._factory, sdl)
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            self._state.reject(digest, reason)
            keeping = self._state.current
            logger.error(
                "supergraph %s (sha256 %s) refused: %s; %s",
                self._path,
                digest[:12],
                reason,
                f"still serving sha256 {keeping.sha256[:12]}" if keeping else "no supergraph loaded yet",
            )
            return False
        previous = self._state.current
        self._state.install(runtime, digest)
        if self._on_install is not None:
            self._on_install()
        if previous is None:
            logger.info("supergraph %s loaded (sha256 %s)", self._path, digest[:12])
        else:
            logger.info("supergraph %s reloaded (sha256 %s -> %s)", self._path, previous.sha256[:12], digest[:12])
        return True

    async def run(self) -> None:
        """Poll forever (until cancelled). With a poll interval of 0, only until the first load."""
        interval = self._poll_interval
        while True:
            if interval <= 0 and self._state.current is not None:
                return
            await asyncio.sleep(interval if interval > 0 else 1.0)
            try:
                await self.check()
            except Exception:
                # The watcher must outlive any surprise, or reloads silently stop.
                logger.exception("supergraph watcher: unexpected error")
