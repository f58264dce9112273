"""Trusted issuers from the gateway's settings: ``auth.issuers`` (YAML) or ``GATEWAY_OIDC_*`` (environment).

Errors are :class:`IssuerSettingError` naming the key (``auth.issuers[1].audiences: ...``);
:mod:`gateway.settings` turns them into its ``SettingsError``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from tokenauth.config import IssuerConfig
from tokenauth.settings import DEFAULT_ISSUER_URL, issuers_from_env

DEFAULT_ISSUERS: tuple[IssuerConfig, ...] = (IssuerConfig(DEFAULT_ISSUER_URL, audiences=("dpp",)),)
"""The development issuer (identity on loopback), trusted when nothing else is configured."""

TENANT_CLASSES: tuple[str, ...] = ("standard", "professional", "enterprise")

_ISSUER_KEYS = frozenset(
    {"issuer", "audiences", "algorithms", "jwks_uri", "tenant_claim", "tenant_from_issuer", "roles_claim"}
)
# GATEWAY_OIDC_<X> are tokenauth's OIDC_<X> (the subgraphs' variables), for the gateway.
_OIDC_ISSUER_ENV = ("ISSUERS", "AUDIENCE", "ALGORITHMS", "TENANT_CLAIM", "TENANT_FROM_ISSUER", "ROLES_CLAIM")


class AuthSettings(Protocol):
    """The settings :func:`check_auth` reads (``gateway.settings.Settings`` has them, read-only)."""

    @property
    def auth_leeway(self) -> int: ...

    @property
    def auth_jwks_poll_interval(self) -> float: ...

    @property
    def auth_jwks_min_refresh_interval(self) -> float: ...

    @property
    def auth_context_url(self) -> str | None: ...

    @property
    def auth_context_ttl(self) -> float: ...

    @property
    def rate_limit_window(self) -> float: ...

    @property
    def rate_limit_standard(self) -> int: ...

    @property
    def rate_limit_professional(self) -> int: ...

    @property
    def rate_limit_enterprise(self) -> int: ...

    @property
    def rate_limit_anonymous(self) -> int: ...

    @property
    def redis_url(self) -> str | None: ...


class IssuerSettingError(ValueError):
    """An issuer setting the gateway cannot use; the message names the key."""


def parse_issuers(value: Any) -> tuple[IssuerConfig, ...]:
    """``auth.issuers``: :class:`IssuerConfig` objects or YAML mappings, one per trusted issuer."""
    if isinstance(value, (IssuerConfig, Mapping, str)) or not isinstance(value, (list, tuple)):
        raise IssuerSettingError("auth.issuers: expected a list of issuers")
    issuers = [_issuer(entry, f"auth.issuers[{index}]") for index, entry in enumerate(value)]
    if not issuers:
        raise IssuerSettingError("auth.issuers: at least one trusted issuer is required")
    return tuple(issuers)


def issuers_from_gateway_env(environ: Mapping[str, str]) -> tuple[IssuerConfig, ...] | None:
    """Issuers from ``GATEWAY_OIDC_ISSUERS`` and friends, or None when none of them is set.

    The options (audience, algorithms, tenant claim, tenant-from-issuer regex, roles claim)
    apply to every issuer listed; per-issuer options need the YAML file.
    """
    given = {f"OIDC_{n}": environ[f"GATEWAY_OIDC_{n}"] for n in _OIDC_ISSUER_ENV if f"GATEWAY_OIDC_{n}" in environ}
    if not given:
        return None
    try:
        return issuers_from_env({"ISSUER_URL": DEFAULT_ISSUER_URL, **given})
    except (ValueError, re.error) as exc:
        raise IssuerSettingError(f"GATEWAY_OIDC_*: {exc}") from None


def _issuer(entry: Any, where: str) -> IssuerConfig:
    if isinstance(entry, IssuerConfig):
        return entry
    if not isinstance(entry, Mapping):
        raise IssuerSettingError(f"{where}: expected a mapping with at least 'issuer'")
    extra = sorted(set(entry) - _ISSUER_KEYS)
    if extra:
        raise IssuerSettingError(f"{where}: unknown key(s) {extra}")
    issuer = entry.get("issuer")
    if not isinstance(issuer, str) or not issuer.strip():
        raise IssuerSettingError(f"{where}.issuer: required (the issuer URL, the tokens' iss)")
    options: dict[str, Any] = {"audiences": _strings(entry.get("audiences", ["dpp"]), f"{where}.audiences")}
    if "algorithms" in entry:
        options["algorithms"] = _strings(entry["algorithms"], f"{where}.algorithms")
    for name in ("jwks_uri", "tenant_claim", "tenant_from_issuer", "roles_claim"):
        if name in entry:
            option = entry[name]
            if option is not None and not isinstance(option, str):
                raise IssuerSettingError(f"{where}.{name}: expected a string or null")
            options[name] = option or None
    pattern = options.get("tenant_from_issuer")
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise IssuerSettingError(f"{where}.tenant_from_issuer: invalid regex ({exc})") from None
    try:
        return IssuerConfig(issuer.strip().rstrip("/"), **options)
    except ValueError as exc:
        raise IssuerSettingError(f"{where}: {exc}") from None


def _strings(value: Any, where: str) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
        raise IssuerSettingError(f"{where}: expected a list of strings")
    return tuple(i.strip() for i in items if i.strip())


def check_auth(settings: AuthSettings) -> str | None:
    """What is wrong with the authentication, rate-limit and Redis settings (naming the key), or None."""
    if settings.auth_leeway < 0:
        return "auth.leeway: must not be negative"
    if settings.auth_jwks_poll_interval < 0:
        return "auth.jwks_poll_interval: must be 0 (off) or positive"
    if settings.auth_jwks_min_refresh_interval < 0:
        return "auth.jwks_min_refresh_interval: must not be negative"
    if settings.auth_context_ttl < 0:
        return "auth.context_ttl: must not be negative"
    url = settings.auth_context_url
    if url is not None and not url.startswith(("http://", "https://")):
        return f"auth.context_url: {url!r} is not an http(s) URL"
    if settings.rate_limit_window <= 0:
        return "rate_limits.window: must be positive"
    for name in (*TENANT_CLASSES, "anonymous"):
        if getattr(settings, f"rate_limit_{name}") < 0:
            return f"rate_limits.{name}: must be 0 (no limit) or positive"
    redis_url = settings.redis_url
    if redis_url is not None and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        return f"redis_url: {redis_url!r} is not a redis://, rediss:// or unix:// URL"
    return None
