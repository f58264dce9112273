"""The gateway server's settings: one immutable object, :class:`Settings`, for the whole process.

Where the values come from (defaults, the YAML file, the environment, flags; the file's keys and the
environment's names) is :mod:`gateway.settings_sources`; how each value is read from text is
:mod:`gateway.settings_values`; the checks across settings are :meth:`Settings.from_mapping`'s.

:class:`Settings` stays one flat dataclass (``settings.retry_attempts``, not ``settings.retry.attempts``):
every consumer reads it that way; its fields are grouped by area below, each area's meanings and checks
in the area's own module where it has one.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.auth.config import DEFAULT_ISSUERS, check_auth
from gateway.cost.config import check_cost
from gateway.persisted.config import check_persisted
from gateway.plan_cache import DEFAULT_MAX_BYTES
from gateway.resilience.config import check_resilience
from gateway.settings_sources import gather
from gateway.settings_values import EDGE_LIMITS, LIMIT_SETTINGS, LOG_LEVELS, SettingsError, coerce
from gateway.variants_config import VariantSettings
from graphql_limits import DEFAULT_LIMITS
from tokenauth.config import IssuerConfig

__all__ = ["DEFAULT_FORWARD_HEADERS", "Settings", "SettingsError"]

DEFAULT_FORWARD_HEADERS: tuple[str, ...] = ("authorization", "x-tenant-id", "x-request-id")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything ``gateway serve`` needs to know, immutable once built."""

    supergraph: Path | None = None
    host: str = "127.0.0.1"
    port: int = 4000
    development: bool = False
    # GraphiQL for browsers (gateway/http/graphiql.py): None follows ``development`` (``load`` turns it on
    # for DPP_ENV=development); its assets directory (None: <sys.prefix>/share/graphiql, where make install puts it).
    graphiql: bool | None = None
    graphiql_assets: Path | None = None
    max_body_bytes: int = 1_048_576
    poll_interval: float = 2.0
    default_timeout: float = 30.0
    max_connections: int = 100
    forward_headers: tuple[str, ...] = DEFAULT_FORWARD_HEADERS
    subgraph_urls: Mapping[str, str] = field(default_factory=dict)
    subgraph_timeouts: Mapping[str, float] = field(default_factory=dict)
    log_level: str = "info"
    shutdown_timeout: float = 30.0
    # Client connections and requests (gateway/http/guards.py; router_timeout: gateway/http/graphql_endpoint.py);
    # 0 turns one off (max_client_connections 0: sized from the file descriptor limit).
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_header_bytes: int = 32_768
    max_client_connections: int = 0
    router_timeout: float = 60.0
    # Operation limits, checked before validation and planning; 0 turns one off (gateway/limits.py).
    max_tokens: int = DEFAULT_LIMITS.max_tokens or 0
    max_depth: int = DEFAULT_LIMITS.max_depth or 0
    max_height: int = DEFAULT_LIMITS.max_height or 0
    max_aliases: int = DEFAULT_LIMITS.max_aliases or 0
    max_root_fields: int = DEFAULT_LIMITS.max_root_fields or 0
    max_directives: int = DEFAULT_LIMITS.max_directives or 0
    max_fragments: int = DEFAULT_LIMITS.max_fragments or 0
    max_introspection_fields: int = DEFAULT_LIMITS.max_introspection_fields or 0
    # Estimated bytes of prepared operations (plans) kept in memory (gateway/plan_cache.py).
    plan_cache_bytes: int = DEFAULT_MAX_BYTES
    # Authentication (YAML section ``auth``): trusted issuers, clock leeway, JWKS polling, and
    # identity's /auth/context (None: the principal comes from the verified token's claims only).
    auth_issuers: tuple[IssuerConfig, ...] = DEFAULT_ISSUERS
    auth_leeway: int = 30
    auth_jwks_poll_interval: float = 300.0
    auth_jwks_min_refresh_interval: float = 10.0
    auth_context_url: str | None = None
    auth_context_ttl: float = 5.0
    # Rate limits (YAML section ``rate_limits``): requests per window per tenant by tenant class,
    # per client address for anonymous callers; 0 means no limit.
    rate_limit_window: float = 60.0
    rate_limit_standard: int = 0
    rate_limit_professional: int = 0
    rate_limit_enterprise: int = 0
    rate_limit_anonymous: int = 0
    # Redis (shared rate-limit counters, caller-context invalidation); None: in-process only.
    redis_url: str | None = None
    # Authorization directives (YAML section ``authorization``): "filter" or "reject", and dry run.
    authorization_mode: str = "filter"
    authorization_dry_run: bool = False
    # Resilience towards subgraphs (YAML sections ``circuit_breaker``, ``retry``, ``health``;
    # meanings and checks in gateway/resilience/config.py).
    circuit_breaker_enabled: bool = True
    circuit_breaker_window: float = 10.0
    circuit_breaker_error_rate: float = 0.5
    circuit_breaker_min_requests: int = 20
    circuit_breaker_cooldown: float = 5.0
    circuit_breaker_half_open_probes: int = 3
    retry_attempts: int = 2
    retry_backoff: float = 0.05
    retry_max_backoff: float = 1.0
    retry_max_retry_after: float = 2.0
    retry_budget_ratio: float = 0.2
    retry_budget_min_per_second: float = 5.0
    dedup_queries: bool = True
    health_check_subgraphs: bool = False
    health_probe_interval: float = 0.0
    # telemetry (gateway/telemetry): log format, bounded metric labels, traced documents
    log_format: str = "text"
    metrics_max_operation_names: int = 100
    metrics_operation_names: tuple[str, ...] = ()
    metrics_max_clients: int = 20
    tracing_include_document: bool = False
    # Persisted operations and batching (YAML sections ``apq``, ``trusted_documents``, ``batching``;
    # meanings and checks in gateway/persisted/config.py).
    apq_enabled: bool = True
    apq_max_entries: int = 1000
    apq_max_bytes: int = 8_388_608
    apq_ttl: float = 86_400.0
    trusted_documents_mode: str = "off"
    trusted_documents_manifest: Path | None = None
    trusted_documents_poll_interval: float = 2.0
    trusted_documents_bypass: bool = False
    batching_enabled: bool = False
    batching_max_size: int = 10
    # Demand control (YAML section ``demand_control``; gateway/cost/config.py).
    demand_control_mode: str = "measure"
    demand_control_max_cost: float = 5000.0
    demand_control_default_list_size: int = 10
    demand_control_expose: bool = False
    # Subscriptions (YAML section ``subscriptions``; kinds in SUBSCRIPTION_SETTINGS below; 0 turns one off).
    subscriptions_init_timeout: float = 10.0
    subscriptions_max_per_connection: int = 100
    subscriptions_max_frame_bytes: int = 262_144
    subscriptions_heartbeat_interval: float = 5.0
    subscriptions_ping_interval: float = 15.0
    subscriptions_send_timeout: float = 10.0
    subscriptions_max_connection_lifetime: float = 0.0
    # ... and the subscription service's (gateway/subscriptions/config.py)
    subscriptions_max_per_tenant: int = 1000
    subscriptions_max_lifetime: float = 86_400.0
    subscriptions_queue_size: int = 128
    subscriptions_slow_consumer: str = "drop_oldest"
    subscriptions_reconnect_timeout: float = 30.0
    subscriptions_reconnect_backoff: float = 0.1
    subscriptions_reconnect_max_backoff: float = 5.0
    subscriptions_replay_size: int = 64
    subscriptions_resume_window: float = 5.0
    subscriptions_upstream_ping_interval: float = 20.0
    subscriptions_upstream_open_timeout: float = 10.0
    subscriptions_upstream_max_operations: int = 100
    subscriptions_upstream_queue_size: int = 256

    @property
    def graphiql_enabled(self) -> bool:
        """Whether GET /graphql serves GraphiQL to browsers (``graphiql``, or else ``development``)."""
        return self.development if self.graphiql is None else self.graphiql

    # Contract variants on their own paths and who may introspect (gateway/variants_config.py).
    introspection: str = "on"
    variants: tuple[VariantSettings, ...] = ()

    def timeout_for(self, subgraph: str) -> float:
        """The request timeout, in seconds, for one subgraph."""
        return self.subgraph_timeouts.get(subgraph, self.default_timeout)

    @classmethod
    def load(
        cls,
        config: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Settings:
        """Build settings from defaults, then ``config`` (YAML), then ``environ``, then
        ``overrides`` (command-line flags; ``None`` values are ignored).

        ``environ`` defaults to ``os.environ``; tests pass their own mapping.
        A relative supergraph path in the YAML file is taken relative to that file.
        """
        return cls.from_mapping(gather(config, environ, overrides))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Settings:
        """Validate and coerce a flat mapping of setting names to values."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
        kwargs: dict[str, Any] = {}
        for name, value in values.items():
            kwargs[name] = coerce(name, value)
        settings = cls(**kwargs)
        if not 0 <= settings.port <= 65535:
            raise SettingsError(f"port: {settings.port} is not a TCP port")
        if settings.max_body_bytes <= 0:
            raise SettingsError("max_body_bytes: must be positive")
        if settings.poll_interval < 0:
            raise SettingsError("poll_interval: must be 0 (off) or positive")
        if settings.default_timeout <= 0 or any(t <= 0 for t in settings.subgraph_timeouts.values()):
            raise SettingsError("timeouts must be positive")
        if settings.log_level not in LOG_LEVELS:
            raise SettingsError(f"log_level: must be one of {', '.join(LOG_LEVELS)}")
        if settings.shutdown_timeout < 0:
            raise SettingsError("shutdown_timeout: must not be negative")
        for name in EDGE_LIMITS:
            if getattr(settings, name) < 0:
                raise SettingsError(f"{name}: must be 0 (off) or positive")
        if settings.max_connections <= 0:
            raise SettingsError("max_connections: must be positive")
        for name in LIMIT_SETTINGS:
            if getattr(settings, name) < 0:
                raise SettingsError(f"{name}: must be 0 (no limit) or positive")
        problem = check_auth(settings)
        if problem is not None:
            raise SettingsError(problem)
        problem = check_resilience(settings)
        if problem is not None:
            raise SettingsError(problem)
        problem = check_cost(settings)
        if problem is not None:
            raise SettingsError(problem)
        problem = check_persisted(settings)
        if problem is not None:
            raise SettingsError(problem)
        return settings

    def rate_limit_for(self, tenant_class: str | None) -> int:
        """Requests per window for a tenant of ``tenant_class`` (unknown or None: standard); 0 = no limit."""
        if tenant_class == "enterprise":
            return self.rate_limit_enterprise
        if tenant_class == "professional":
            return self.rate_limit_professional
        return self.rate_limit_standard
