"""Run several ASGI apps in one process, or one process each, and stop them together.

``make run`` serves four subgraphs and the gateway; one event loop with one
uvicorn server per app keeps that to a single process that Ctrl-C stops cleanly.
``dpp-stack --processes`` runs each service in a process of its own instead, as
docker-compose and Kubernetes do (:class:`ProcessStack`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import uvicorn

log = logging.getLogger("dpp.stack")


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to :class:`Stack`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


# The gateway keeps its pooled connections to a subgraph open for 60 s when idle (the aiohttp
# keepalive_timeout of gateway.transport.HTTPTransport). A server must keep an idle connection
# longer than its client does: with uvicorn's default of 5 s, a request could leave on a
# connection the subgraph was closing and get no answer ("Server disconnected"), which the
# gateway does not retry for a mutation.
SUBGRAPH_KEEP_ALIVE_SECONDS = 75


def subgraph_config(app: Any, **options: Any) -> uvicorn.Config:
    """uvicorn's config for a subgraph: ``options`` with the keep-alive above."""
    return uvicorn.Config(app, timeout_keep_alive=SUBGRAPH_KEEP_ALIVE_SECONDS, **options)


@dataclass(frozen=True, slots=True)
class AppSpec:
    """One app of the stack: a name for logs, the ASGI app and where it listens.

    ``config`` builds its uvicorn config (default: :func:`subgraph_config`; the gateway's guards
    its client connections, see ``gateway.serve.connection_guards``).
    """

    name: str
    app: Any
    host: str
    port: int
    config: Callable[..., uvicorn.Config] = subgraph_config


class Stack:
    """Serves every :class:`AppSpec` until a signal (or :meth:`stop`) ends them all."""

    def __init__(self, specs: list[AppSpec], log_level: str = "info") -> None:
        self.servers = [
            _QuietServer(s.config(s.app, host=s.host, port=s.port, log_level=log_level, lifespan="on")) for s in specs
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


def _die_with_parent() -> None:
    """In a child before exec (Linux): SIGTERM when the supervisor dies, even by SIGKILL (no orphaned servers)."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    """One service of a :class:`ProcessStack`: a name for logs and the command that serves it."""

    name: str
    command: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)  # added to this process's environment


class ProcessStack:
    """Runs every :class:`ProcessSpec` as a child process until a signal, or until one of them exits.

    SIGINT or SIGTERM asks every child to finish (SIGTERM; uvicorn drains in-flight requests),
    waits ``grace`` seconds, then kills what is left. A child that exits on its own stops the
    others too, and :meth:`run` returns 1: a stack with a service missing is not a stack.
    """

    def __init__(self, specs: Sequence[ProcessSpec], *, grace: float = 15.0, poll: float = 0.2) -> None:
        self.specs = list(specs)
        self.grace = grace
        self.poll = poll
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._stopping = False

    def _signal(self, _signum: int, _frame: FrameType | None) -> None:
        self._stopping = True

    def start(self) -> None:
        """Start every child (each inherits this process's output).

        Each child runs in a session of its own, so Ctrl-C in a terminal reaches only this
        process, which passes on exactly one SIGTERM (a second signal makes uvicorn drop
        in-flight requests).
        """
        for spec in self.specs:
            self.processes[spec.name] = subprocess.Popen(
                list(spec.command),
                env={**os.environ, **spec.env},
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
            log.info("%-9s pid %d", spec.name, self.processes[spec.name].pid)

    def stop(self) -> None:
        """SIGTERM every live child, then SIGKILL those still running after ``grace`` seconds."""
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + self.grace
        for name, process in self.processes.items():
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0f s; killing it", name, self.grace)
                process.kill()
                process.wait()

    def run(self) -> int:
        """Start, supervise and stop; 0 after a requested stop, 1 when a child exited by itself."""
        previous = {sig: signal.signal(sig, self._signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        failed: list[str] = []
        try:
            self.start()
            while not self._stopping:
                failed = [name for name, p in self.processes.items() if p.poll() is not None]
                if failed:
                    for name in failed:
                        log.error("%s exited with %s; stopping the stack", name, self.processes[name].returncode)
                    break
                time.sleep(self.poll)
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 1 if failed else 0
