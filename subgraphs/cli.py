"""Console scripts: ``dpp-subgraph NAME`` runs one subgraph, ``dpp-stack`` runs everything.

Both migrate the database first and (unless ``SEED=0``) load the demo data,
which is idempotent, so they are safe to run again and again.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import logging
import os
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from uvicorn.loops.auto import auto_loop_factory

from gateway.telemetry.logging import configure_logging
from subgraphs.common.app import create_app
from subgraphs.common.db import Database
from subgraphs.common.migrations import upgrade
from subgraphs.common.settings import SERVICE_NAMES, Settings, startup_refusals, startup_warnings
from subgraphs.registry import load_definition
from subgraphs.stack import AppSpec, ProcessSpec, ProcessStack, Stack

log = logging.getLogger("dpp")


def prepare(name: str, settings: Settings, *, seed: bool) -> None:
    """Migrate subgraph ``name``'s database and load the demo data if ``seed``."""
    definition = load_definition(name)
    upgrade(definition, settings.database_url)
    if seed and definition.seed is not None:
        seed_fn = definition.seed

        async def run() -> None:
            database = Database(settings.database_url)
            try:
                await seed_fn(database, settings)
            finally:
                await database.dispose()

        asyncio.run(run())


def _seed_enabled(settings: Settings) -> bool:
    """``SEED``: on by default in development, off otherwise (the demo accounts' passwords are public)."""
    default = "1" if settings.is_development else "0"
    return os.environ.get("SEED", default).lower() not in ("0", "false", "no", "")


def check_environment(settings: Settings) -> None:
    """Refuse to start with a development key or secret outside development; say so loudly in development."""
    refusals = startup_refusals(settings, os.environ)
    for refusal in refusals:
        log.error("refusing to start: %s", refusal)
    if refusals:
        raise SystemExit(2)
    for warning in startup_warnings(settings, os.environ):
        log.warning("%s", warning)
    if not settings.is_development:
        log.info("DPP_ENV=%s: development keys, secrets and demo data are refused", settings.environment)


def _configure_logging(level: str, log_format: str = "text") -> None:
    configure_logging(level, log_format, "%(asctime)s %(levelname)-7s %(name)s: %(message)s")


def subgraph_main(argv: Sequence[str] | None = None) -> int:
    """``dpp-subgraph NAME [--port N]``: migrate, seed and serve one subgraph."""
    parser = argparse.ArgumentParser(prog="dpp-subgraph")
    parser.add_argument("name", choices=SERVICE_NAMES)
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--no-seed", action="store_true")
    args = parser.parse_args(argv)
    settings = Settings.from_env(args.name)
    settings = dataclasses.replace(settings, host=args.host or settings.host, port=args.port or settings.port)
    _configure_logging(settings.log_level, settings.log_format)
    check_environment(settings)
    prepare(args.name, settings, seed=_seed_enabled(settings) and not args.no_seed)
    app = create_app(load_definition(args.name), settings, settle=True)
    serve_forever(Stack([AppSpec(args.name, app, settings.host, settings.port)], settings.log_level).serve())
    return 0


def serve_forever(serving: Coroutine[Any, Any, None]) -> None:
    """Run ``serving`` on uvloop when installed (as ``uvicorn.run`` does; ``asyncio.run`` would not)."""
    with asyncio.Runner(loop_factory=auto_loop_factory()) as runner:
        runner.run(serving)


def _gateway_supergraph() -> Path | None:
    """``GATEWAY_SUPERGRAPH`` (default ``schema/supergraph.graphql``), or None (with a warning) when missing."""
    supergraph = Path(os.environ.get("GATEWAY_SUPERGRAPH", "schema/supergraph.graphql"))
    if not supergraph.exists():
        log.warning("%s not found (run make schema); serving the subgraphs only", supergraph)
        return None
    return supergraph


def _gateway_environ(supergraph: Path) -> dict[str, str]:
    """This environment with the stack's gateway defaults under it (set variables win)."""
    # The stack's gateway trusts the stack's identity (issuer and /auth/context) unless told otherwise.
    identity = Settings.from_env("identity")
    environ = {
        "GATEWAY_OIDC_ISSUERS": identity.issuer_url,
        "GATEWAY_AUTH_CONTEXT_URL": f"{identity.identity_url}/auth/context",
        **os.environ,
    }
    if supergraph.with_name("partner.graphql").exists():
        # the partner contract (make schema) on /partner/graphql, introspectable as development wants
        environ.setdefault("GATEWAY_VARIANTS", "partner")
        environ.setdefault("GATEWAY_VARIANT_PARTNER_INTROSPECTION", "on")
    return environ


def _gateway_spec() -> AppSpec | None:
    """The gateway over ``GATEWAY_SUPERGRAPH`` (default ``schema/supergraph.graphql``), as ``gateway serve`` runs it."""
    from gateway.http.guards import GuardedConfig
    from gateway.serve import build_app, connection_guards
    from gateway.settings import Settings as GatewaySettings

    supergraph = _gateway_supergraph()
    if supergraph is None:
        return None
    settings = GatewaySettings.load(environ=_gateway_environ(supergraph), supergraph=str(supergraph))
    guarded = functools.partial(GuardedConfig, guards=connection_guards(settings))
    return AppSpec("gateway", build_app(settings), settings.host, settings.port, guarded)


def _process_specs(with_gateway: bool) -> list[ProcessSpec]:
    """``dpp-subgraph NAME --no-seed`` for each subgraph and ``gateway serve``, as docker-compose runs them."""
    serve_subgraph = "import sys; from subgraphs.cli import subgraph_main; sys.exit(subgraph_main())"
    specs = [ProcessSpec(name, [sys.executable, "-c", serve_subgraph, name, "--no-seed"]) for name in SERVICE_NAMES]
    supergraph = _gateway_supergraph() if with_gateway else None
    if supergraph is not None:
        command = [sys.executable, "-m", "gateway.cli", "serve", "--supergraph", str(supergraph)]
        specs.append(ProcessSpec("gateway", command, _gateway_environ(supergraph)))
    return specs


def stack_main(argv: Sequence[str] | None = None) -> int:
    """``dpp-stack``: migrate, seed and serve the four subgraphs and the gateway (one process, or one each)."""
    parser = argparse.ArgumentParser(prog="dpp-stack")
    parser.add_argument("--no-seed", action="store_true")
    parser.add_argument("--no-gateway", action="store_true")
    parser.add_argument("--processes", action="store_true", help="one process per service, as docker-compose runs them")
    args = parser.parse_args(argv)
    all_settings = {name: Settings.from_env(name) for name in SERVICE_NAMES}
    level = all_settings["identity"].log_level
    _configure_logging(level, all_settings["identity"].log_format)
    check_environment(all_settings["identity"])
    if args.processes:
        for name, settings in all_settings.items():
            prepare(name, settings, seed=_seed_enabled(settings) and not args.no_seed)
        return ProcessStack(_process_specs(not args.no_gateway)).run()
    specs: list[AppSpec] = []
    for name, settings in all_settings.items():
        prepare(name, settings, seed=_seed_enabled(settings) and not args.no_seed)
        specs.append(AppSpec(name, create_app(load_definition(name), settings), settings.host, settings.port))
    if not args.no_gateway:
        gateway = _gateway_spec()
        if gateway is not None:
            specs.append(gateway)
    try:
        asyncio.run(Stack(specs, level).serve())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(stack_main())
