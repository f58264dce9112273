"""Run several ASGI apps in one process and stop them together.

``make run`` serves four subgraphs and the gateway; one event loop with one
uvicorn server per app keeps that to a single process that Ctrl-C stops cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn

log = logging.getLogger("dpp.stack")


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to :class:`Stack`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass(frozen=True, slots=True)
class AppSpec:
    """One app of the stack: a name for logs, the ASGI app and where it listens.

    ``config`` builds its uvicorn config (the gateway's guards its client connections, see
    ``gateway.serve.connection_guards``).
    """

    name: str
    app: Any
    host: str
    port: int
    config: Callable[..., uvicorn.Config] = uvicorn.Config


class Stack:
    """Serves every :class:`AppSpec` until a signal (or :meth:`stop`) ends them all."""

    def __init__(self, specs: list[AppSpec], log_level: str = "info") -> None:
        self.servers = [
            _QuietServer(s.config(s.app, host=s.host, port=s.port, log_level=log_level, lifespan="on"))
            for s in specs
        ]
        self.specs = specs

    def stop(self) -> None:
        """Ask every server to finish its in-flight requests and exit."""
        for server in self.servers:
            server.should_exit = True

    async def serve(self) -> None:
        """Run all servers; returns once all have shut down."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.stop)
        tasks = [
            asyncio.create_task(server.serve(), name=spec.name)
            for server, spec in zip(self.servers, self.specs, strict=True)
        ]
        while not all(server.started for server in self.servers):
            if any(task.done() for task in tasks):
                self.stop()
                break
            await asyncio.sleep(0.05)
        else:
            for spec in self.specs:
                log.info("%-9s http://%s:%d/graphql", spec.name, spec.host, spec.port)
        await asyncio.gather(*tasks, return_exceptions=True)
        failed = [t.get_name() for t in tasks if t.exception() is not None]
        if failed:
            raise RuntimeError(f"server(s) failed: {', '.join(failed)}")
