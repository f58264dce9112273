"""Issuer configuration from the environment (the same variables for the gateway and every subgraph)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from tokenauth.config import IssuerConfig
from tokenauth.verifier import TokenVerifier

DEFAULT_ISSUER_URL = "http://127.0.0.1:4001"


@dataclass(frozen=True, slots=True)
class VerifierSettings:
    """Everything a :class:`tokenauth.TokenVerifier` is built from."""

    issuers: tuple[IssuerConfig, ...]
    leeway: int = 30
    poll_interval: float = 300.0
    min_refresh_interval: float = 10.0

    def verifier(self) -> TokenVerifier:
        """A verifier for these settings."""
        return TokenVerifier(
            self.issuers,
            leeway=self.leeway,
            poll_interval=self.poll_interval,
            min_refresh_interval=self.min_refresh_interval,
        )


def _get(environ: Mapping[str, str], name: str, default: str) -> str:
    value = environ.get(name)
    return value.strip() if value not in (None, "") and value.strip() else default


def _list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def issuers_from_env(environ: Mapping[str, str] | None = None) -> tuple[IssuerConfig, ...]:
    """The trusted issuers: ``OIDC_ISSUERS`` (comma-separated; default ``ISSUER_URL``, the dev issuer).

    ``OIDC_AUDIENCE`` (comma-separated, default ``dpp``), ``OIDC_ALGORITHMS`` (default ``RS256,ES256``),
    ``OIDC_TENANT_CLAIM`` (default ``tid``; empty-string value ``-`` for none), ``OIDC_TENANT_FROM_ISSUER``
    (a regex with a ``(?P<tenant>...)`` group) and ``OIDC_ROLES_CLAIM`` (dotted path) apply to every issuer.
    """
    env = os.environ if environ is None else environ
    dev_issuer = _get(env, "ISSUER_URL", DEFAULT_ISSUER_URL).rstrip("/")
    issuers = _list(_get(env, "OIDC_ISSUERS", dev_issuer))
    audiences = _list(_get(env, "OIDC_AUDIENCE", "dpp"))
    algorithms = _list(_get(env, "OIDC_ALGORITHMS", "RS256,ES256"))
    tenant_claim: str | None = _get(env, "OIDC_TENANT_CLAIM", "tid")
    if tenant_claim == "-":
        tenant_claim = None
    tenant_from_issuer = _get(env, "OIDC_TENANT_FROM_ISSUER", "") or None
    roles_claim = _get(env, "OIDC_ROLES_CLAIM", "") or None
    return tuple(
        IssuerConfig(
            issuer=issuer.rstrip("/"),
            audiences=audiences,
            algorithms=algorithms,
            tenant_claim=tenant_claim,
            tenant_from_issuer=tenant_from_issuer,
            roles_claim=roles_claim,
        )
        for issuer in issuers
    )


def verifier_settings_from_env(environ: Mapping[str, str] | None = None) -> VerifierSettings:
    """Issuers plus ``OIDC_LEEWAY`` (30 s), ``OIDC_JWKS_POLL_INTERVAL`` (300 s), ``OIDC_JWKS_MIN_REFRESH`` (10 s)."""
    env = os.environ if environ is None else environ
    return VerifierSettings(
        issuers=issuers_from_env(env),
        leeway=int(_get(env, "OIDC_LEEWAY", "30")),
        poll_interval=float(_get(env, "OIDC_JWKS_POLL_INTERVAL", "300")),
        min_refresh_interval=float(_get(env, "OIDC_JWKS_MIN_REFRESH", "10")),
    )
