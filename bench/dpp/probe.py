"""Where a request's time goes inside one process of the stack: ``make bench-dpp --probe``.

On only when ``BENCH_PROBE_DIR`` is set (``launch.py`` installs it); bench code, nothing of it
runs in production. Three measurements, all from inside the process:

- server time: each HTTP request, from the ASGI call to the last body message (uvicorn's app
  wrapper is wrapped once the config loads: the app of any checkout, unchanged);
- garbage collector pauses: ``gc.callbacks``, start to stop, per generation;
- event-loop lag: a task that asks to wake every ``LAG_INTERVAL`` and records how late it woke
  (a callback that held the loop, a GC pause, or the process waiting for a CPU).

SIGUSR1 clears them (the measured run starts), SIGUSR2 writes ``<dir>/<workload>/<process>.json``
(the workload read from ``<dir>/.workload``, as ``launch.py``'s profile hook does). The cost is a
few microseconds per request and a hundred loop wake-ups a second.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import uvicorn

LAG_INTERVAL = 0.01  # seconds between the lag task's wake-ups

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def percentiles(values: list[float], shares: tuple[float, ...] = (0.5, 0.9, 0.99)) -> dict[str, float]:
    """``p50``/``p90``/``p99`` (and ``max``) of ``values``, nearest rank; zeros when empty."""
    ordered = sorted(values)
    out = {}
    for share in shares:
        key = f"p{share * 100:g}"
        out[key] = ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))] if ordered else 0.0
    out["max"] = ordered[-1] if ordered else 0.0
    return out


class Probe:
    """The three measurements of one process, cleared and written on signals."""

    def __init__(self, directory: Path, process: str) -> None:
        self.directory = directory
        self.process = process
        self.requests: list[float] = []
        self.gc_pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self.gc_cpu: dict[int, float] = {0: 0.0, 1: 0.0, 2: 0.0}  # CPU seconds: a pause minus waiting for a CPU
        self.lags: list[float] = []
        self._gc_started = 0.0
        self._gc_cpu_started = 0.0
        self._lag_task: asyncio.Task[None] | None = None
        self.since = time.perf_counter()

    def install(self) -> None:
        """Hook the GC, and uvicorn's app loading (the request timer and the lag task start with it)."""
        gc.callbacks.append(self._gc)
        probe = self
        load = uvicorn.Config.load

        def timed_load(config: uvicorn.Config) -> None:
            load(config)
            if not getattr(config.loaded_app, "_bench_probe", False):
                config.loaded_app = probe.wrap(config.loaded_app)

        uvicorn.Config.load = timed_load  # type: ignore[method-assign, assignment]

    def wrap(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> Any:
        """``app`` timed per HTTP request."""
        requests = self.requests

        async def timed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                if self._lag_task is None and scope["type"] == "lifespan":
                    self._lag_task = asyncio.get_running_loop().create_task(self._lag())
                await app(scope, receive, send)
                return
            if self._lag_task is None:
                self._lag_task = asyncio.get_running_loop().create_task(self._lag())
            started = time.perf_counter()

            async def timed_send(message: Message) -> None:
                await send(message)
                if message["type"] == "http.response.body" and not message.get("more_body", False):
                    requests.append(time.perf_counter() - started)

            await app(scope, receive, timed_send)

        timed._bench_probe = True  # type: ignore[attr-defined]
        return timed

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started, self._gc_cpu_started = time.perf_counter(), time.thread_time()
        else:
            self.gc_pauses[info["generation"]].append(time.perf_counter() - self._gc_started)
            self.gc_cpu[info["generation"]] += time.thread_time() - self._gc_cpu_started

    async def _lag(self) -> None:
        # perf_counter, not loop.time(): uvloop's clock counts whole milliseconds (so do its timers:
        # up to 1 ms of lag is the timer's granularity there, not a stall).
        while True:
            due = time.perf_counter() + LAG_INTERVAL
            await asyncio.sleep(LAG_INTERVAL)
            self.lags.append(max(0.0, time.perf_counter() - due))

    def clear(self) -> None:
        """Start a measured run."""
        self.requests.clear()
        for pauses in self.gc_pauses.values():
            pauses.clear()
        self.gc_cpu = dict.fromkeys(self.gc_cpu, 0.0)
        self.lags.clear()
        self.since = time.perf_counter()

    def report(self) -> dict[str, Any]:
        """Milliseconds: server time and loop lag percentiles, GC pauses per generation."""

        def ms(values: list[float]) -> dict[str, float]:
            return {k: v * 1000 for k, v in percentiles(values).items()}

        old = gc.get_objects(generation=2)  # not the frozen ones: what a full collection walks
        kinds = Counter(type(o).__name__ for o in old)
        return {
            "old_objects": len(old),
            "old_kinds": dict(kinds.most_common(12)),
            "frozen_objects": gc.get_freeze_count(),
            "seconds": time.perf_counter() - self.since,
            "requests": len(self.requests),
            "server_ms": ms(self.requests),
            "lag_ms": ms(self.lags),
            "lag_over_5ms_s": sum(lag for lag in self.lags if lag > 0.005),
            "gc": {
                str(gen): {
                    "count": len(p),
                    "total_ms": sum(p) * 1000,
                    "max_ms": max(p, default=0.0) * 1000,
                    "cpu_ms": self.gc_cpu[gen] * 1000,
                }
                for gen, p in self.gc_pauses.items()
            },
        }

    def write(self) -> None:
        """``<dir>/<workload>/<process>.json``."""
        marker = self.directory / ".workload"
        workload = marker.read_text().strip() if marker.exists() else "run"
        target = self.directory / workload / f"{self.process}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        partial.write_text(json.dumps(self.report()))
        partial.rename(target)  # whole or absent: the bench waits for it
