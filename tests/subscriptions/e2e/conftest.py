"""The federation behind the e2e subscription tests: identity (the session's issuer), catalog,
templates and passport on SQLite, and the production gateway app (build_app) in front."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from gateway.settings import Settings
from tests.gateway_http.auth_stack import SUPERGRAPH, serving_gateway
from tests.support.fixtures import identity_issuers
from tests.support.identity import IdentityIssuer, IdentityIssuers
from tests.support.subgraphs import running_subgraph
from tokenauth import IssuerConfig

from .stack import Stack

__all__ = ["identity_issuers", "stack"]


@pytest.fixture(scope="module")
def stack(identity_issuers: IdentityIssuers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    def identity_db() -> str:
        return f"sqlite+aiosqlite:///{(tmp_path_factory.mktemp('identity-db') / 'identity.db').as_posix()}"

    issuer: IdentityIssuer = identity_issuers.get("sqlite", identity_db)
    with ExitStack() as running:
        servers = {}
        for name in ("catalog", "templates", "passport"):
            url = f"sqlite+aiosqlite:///{(tmp_path_factory.mktemp(name) / f'{name}.db').as_posix()}"
            servers[name] = running.enter_context(running_subgraph(name, url, **issuer.overrides()))
        settings = Settings.from_mapping(
            {
                "supergraph": SUPERGRAPH,
                "poll_interval": 0,
                "log_level": "warning",
                "subgraph_urls": {"identity": issuer.url, **{n: s.url + "/graphql" for n, s in servers.items()}},
                "auth_issuers": [IssuerConfig(issuer.base_url, audiences=("dpp",))],
                "auth_context_url": issuer.base_url + "/auth/context",
                "auth_jwks_min_refresh_interval": 0,
                "retry_attempts": 0,
                "subscriptions_heartbeat_interval": 0.5,
            }
        )
        gateway = running.enter_context(serving_gateway(settings))
        yield Stack(gateway.url, issuer, identity_issuers.root / "identity-sqlite")
