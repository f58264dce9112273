"""``gateway serve``: run the HTTP edge under uvicorn and hot-reload the supergraph.

The supergraph file is polled (mtime, size and inode, then a SHA-256 of the text
when those change), so no file-watching dependency is needed and atomic renames
and Kubernetes ConfigMap symlink swaps are seen too. A new text is built into a
new runtime off the event loop; on success it is installed for new requests
(requests in flight keep the runtime they started with), on failure it is logged
and refused and the previous runtime keeps serving.

Client connections are guarded below the application (header and body read timeouts,
header size, a connection cap): uvicorn serves with :class:`gateway.http.guards.GuardedHttpToolsProtocol`,
whose docstring says why the guard is a protocol subclass and not an ASGI middleware.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from types import FrameType
from typing import Any

import uvicorn
from starlette.applications import Starlette

from gateway.auth.stage import AuthStage
from gateway.contracts import Runtime, SubgraphTransport
from gateway.http.app import create_app
from gateway.http.guards import ConnectionGuards, GuardedConfig, default_max_connections
from gateway.http.state import GatewayState
from gateway.http.ws_protocol import websocket_protocol
from gateway.resilience.health import SubgraphHealth
from gateway.settings import Settings, SettingsError
from gateway.supergraph_watch import RuntimeFactory, SupergraphWatcher
from gateway.telemetry import Telemetry, configure_logging
from gateway.transport import HTTPTransport
from gateway.variants import IntrospectionPolicy, ServedVariants

logger = logging.getLogger("gateway.serve")


def gateway_runtime_factory(settings: Settings, introspection: IntrospectionPolicy | None = None) -> RuntimeFactory:
    """The production factory: :class:`gateway.runtime.Gateway` with the configured URL overrides
    (policed by ``introspection`` unless that is None or on: gateway/introspection_gate.py)."""

    def build(sdl: str) -> Runtime:
        from gateway.authorization import AuthorizationConfig
        from gateway.cost.config import cost_config_from_settings
        from gateway.introspection_gate import runtime_class
        from gateway.limits import limits_from_settings

        overrides = dict(settings.subgraph_urls) or None
        runtime: Runtime = runtime_class(introspection).from_supergraph_sdl(
            sdl,
            subgraph_url_overrides=overrides,
            limits=limits_from_settings(settings),
            cache_bytes=settings.plan_cache_bytes,
            authorization=AuthorizationConfig(settings.authorization_mode, settings.authorization_dry_run),
            cost=cost_config_from_settings(settings),
            coalesce=settings.dedup_queries,  # identical concurrent queries share one execution (gateway/coalescing.py)
        )
        return runtime

    return build


GC_GEN0_THRESHOLD = 100_000
"""Allocations (net of frees) of tracked objects between two young-generation collections."""


def settle_heap() -> None:
    """Take everything alive now (supergraph, schemas, caches, modules) out of the cyclic GC's scans.

    A request allocates thousands of dicts and lists (subgraph answers, the merged tree,
    the response), so the collector runs its full collections every few requests, and
    each one walked every object of the loaded schema and the imported modules: measured
    with ``bench/cpu.py``, about a third of the gateway's CPU per request. Frozen objects
    are still freed by reference counting; they are only no longer scanned for cycles.
    Called once a supergraph is loaded and again after each reload: unfreezing first lets
    the full collection free the replaced runtime (its schema objects reference each other).
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    # Most per-request objects die by reference counting as soon as the response is sent;
    # with the default threshold (700) the collector still ran a dozen times per request
    # over the requests in flight. Collecting once 100k more objects are alive than freed
    # cut the gateway's CPU per request by about a fifth in `make bench`.
    gc.set_threshold(GC_GEN0_THRESHOLD, 10, 10)


def build_app(
    settings: Settings,
    *,
    runtime_factory: RuntimeFactory | None = None,
    transport: SubgraphTransport | None = None,
    state: GatewayState | None = None,
    freeze_heap: bool = False,
    telemetry: Telemetry | None = None,
) -> Starlette:
    """The application ``gateway serve`` runs: edge, supergraph watcher and transport, wired.

    The watcher loads the supergraph during startup (so a valid file is served from
    the first request) and polls it in the background; shutdown stops the watcher
    and closes the connection pool and the authentication stage's clients (token
    verifier, caller-context client, rate limiter). ``runtime_factory`` and ``transport`` default to
    the production ones. ``freeze_heap`` calls :func:`settle_heap` after each load (the
    server process does; a process hosting other work, such as a test run, need not). ``telemetry``
    defaults to metrics plus the tracing the ``OTEL_*`` variables configure.
    """
    if settings.supergraph is None:
        raise SettingsError("supergraph: no supergraph file given (--supergraph, config or GATEWAY_SUPERGRAPH)")
    state = state or GatewayState()
    # contract variants on their own paths, each with its watcher; introspection policies (gateway/variants.py)
    variants = ServedVariants(settings, runtime_factory, on_install=settle_heap if freeze_heap else None)
    factory = variants.main_factory
    owned_transport = transport is None
    the_transport: SubgraphTransport = transport or HTTPTransport.from_settings(settings)
    watcher = SupergraphWatcher(
        settings.supergraph, state, factory, settings.poll_interval, on_install=settle_heap if freeze_heap else None
    )
    auth = AuthStage(settings)
    telemetry = telemetry or Telemetry.from_settings(settings)
    subgraph_health = SubgraphHealth(
        the_transport, check=settings.health_check_subgraphs, probe_interval=settings.health_probe_interval
    )

    def subgraph_urls() -> dict[str, str]:
        loaded = state.current
        urls = getattr(loaded.runtime, "subgraph_urls", None) if loaded is not None else None
        return dict(urls) if isinstance(urls, Mapping) else {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        auth.log_configuration()
        await watcher.check()
        await variants.start()
        task = asyncio.create_task(watcher.run(), name="supergraph-watcher")
        probes = asyncio.create_task(subgraph_health.run(subgraph_urls), name="subgraph-probes")
        try:
            yield
        finally:
            task.cancel()
            probes.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            with contextlib.suppress(asyncio.CancelledError):
                await probes
            await variants.stop()
            if owned_transport and isinstance(the_transport, HTTPTransport):
                await the_transport.aclose()
            await auth.aclose()
            telemetry.shutdown()

    app = create_app(settings, state, the_transport, lifespan=lifespan, auth=auth, subgraph_health=subgraph_health,
                     telemetry=telemetry)
    app.state.telemetry = telemetry  # the connection guards count their refusals here (gateway/http/guards.py)
    app.state.variants = variants
    variants.mount(app, state, the_transport, auth, telemetry)
    return app


def connection_guards(settings: Settings) -> ConnectionGuards:
    """The client connection limits of ``settings`` (a connection cap of 0 is sized from the fd limit)."""
    return ConnectionGuards(
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
        max_header_bytes=settings.max_header_bytes,
        max_connections=settings.max_client_connections or default_max_connections(),
    )


def websocket_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's WebSocket options for the subscription edge (gateway/http/ws.py).

    * no permessage-deflate: its zlib state costs about 40 KB per connection (2,000 idle
      subscribers: 82 -> 41 KB each), and events are small JSON;
    * frames above ``subscriptions.max_frame_bytes`` are refused by the protocol layer (1009)
      instead of being buffered up to uvicorn's 16 MiB default before the edge sees them;
    * no protocol-level keepalive task per connection: graphql-transport-ws pings itself
      (``subscriptions.ping_interval``);
    * the gateway's own protocol for the ``/graphql`` socket (gateway/http/ws_protocol.py: no task,
      queue or kept handshake per connection, frames handed to the edge by a call; uvicorn's
      sans-I/O protocol for anything else). 2,000 idle subscribers (make bench-subscriptions,
      BENCH_SUBSCRIBERS=2000, back to back): 38.2 KiB each with uvicorn's default implementation,
      32.7 KiB with its sans-I/O one; see the README for the figures of this one.
    """
    return {
        "ws": websocket_protocol,
        "ws_max_size": settings.subscriptions_max_frame_bytes or 16 * 1024 * 1024,
        "ws_per_message_deflate": False,
        "ws_ping_interval": None,
    }


def build_server(settings: Settings, app: Starlette | None = None) -> uvicorn.Server:
    """A uvicorn server for ``app`` (default: :func:`build_app`) on the configured host and port.

    uvicorn handles SIGINT and SIGTERM: it stops accepting, lets in-flight requests
    finish for up to ``shutdown_timeout`` seconds, then runs the lifespan shutdown.
    """
    config = GuardedConfig(
        app or build_app(settings),
        guards=connection_guards(settings),
        host=settings.host,
        port=settings.port,
        lifespan="on",
        log_level=settings.log_level.lower(),
        access_log=settings.development,
        server_header=False,
        timeout_graceful_shutdown=int(settings.shutdown_timeout) or None,
        **websocket_options(settings),
    )
    return uvicorn.Server(config)


def worker_app() -> Starlette:
    """The application of one worker process of ``gateway serve --workers N``.

    uvicorn starts workers as fresh interpreters that import this factory; the parent
    has put its command-line settings into the environment (see :func:`run_serve`), so
    every worker loads exactly the parent's settings.
    """
    settings = Settings.load(os.environ.get("GATEWAY_CONFIG") or None)
    configure_logging(settings.log_level, settings.log_format)
    return build_app(settings, freeze_heap=True)




def _serve_workers(settings: Settings, workers: int) -> int:
    """Run ``workers`` processes sharing one listening socket, under uvicorn's supervisor.

    The supervisor forwards SIGINT / SIGTERM to the workers (each shuts down gracefully,
    as a single-process server does) and restarts a worker that dies.
    """
    from uvicorn.supervisors import Multiprocess

    config = GuardedConfig(
        "gateway.serve:worker_app",
        guards=connection_guards(settings),
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        lifespan="on",
        log_level=settings.log_level.lower(),
        access_log=settings.development,
        server_header=False,
        timeout_graceful_shutdown=int(settings.shutdown_timeout) or None,
        **websocket_options(settings),
    )
    sock = config.bind_socket()
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()
    return 0


def run_serve(
    supergraph: str | None,
    config: str | None,
    host: str | None,
    port: int | None,
    *,
    sockets: Sequence[socket.socket] | None = None,
    workers: int = 1,
) -> int:
    """Serve until interrupted. Exit codes: 0 clean shutdown, 1 startup failure, 2 bad settings.

    Without ``--config``, the ``GATEWAY_CONFIG`` environment variable may name the YAML file
    (convenient in containers, where flags are awkward to change). ``workers`` above 1 runs
    that many processes on the same port (one event loop each); the default is one
    process, and scaling out is otherwise more replicas behind a load balancer.
    """
    if workers < 1:
        print("gateway serve: workers: must be at least 1", file=sys.stderr)
        return 2
    try:
        config = config or os.environ.get("GATEWAY_CONFIG") or None
        settings = Settings.load(config, supergraph=supergraph, host=host, port=port)
        app = build_app(settings, freeze_heap=True) if workers == 1 else None
    except SettingsError as exc:
        print(f"gateway serve: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    if workers > 1:
        # Flags win over the environment, so passing them on as environment variables
        # gives each worker the same settings as this process.
        for name, value in (("GATEWAY_CONFIG", config), ("GATEWAY_SUPERGRAPH", supergraph),
                            ("GATEWAY_HOST", host), ("GATEWAY_PORT", port)):
            if value is not None:
                os.environ[name] = str(value)
        return _serve_workers(settings, workers)
    server = build_server(settings, app)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the
    # previous handler. Make that a no-op for SIGTERM and catch SIGINT's KeyboardInterrupt,
    # so a requested stop after a clean shutdown exits 0 instead of dying with a traceback.
    previous_term = signal.signal(signal.SIGTERM, _ignore_signal)
    try:
        server.run(sockets=list(sockets) if sockets else None)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous_term)
    if not server.started:
        logger.error("gateway did not start")
        return 1
    return 0


def _ignore_signal(signum: int, frame: FrameType | None) -> None:
    logger.info("stopped by signal %s", signal.Signals(signum).name)
