"""The gateway server's settings: one object, built from defaults, a YAML file,
the environment and command-line flags, in that order of precedence (later wins).

YAML file (every key optional)::

    supergraph: schema/supergraph.graphql
    host: 0.0.0.0
    port: 4000
    development: false          # enables the x-gateway-debug-plan request header
    graphiql: null              # GraphiQL at GET /graphql for browsers; null: on in development or DPP_ENV=development
    graphiql_assets: null       # its installed npm bundle (make install); null: <venv>/share/graphiql
    max_body_bytes: 1048576
    poll_interval: 2.0          # seconds between supergraph file checks; 0 disables hot reload
    default_timeout: 30.0       # seconds, per subgraph request, unless the subgraph sets its own
    max_connections: 100        # pooled keep-alive connections per subgraph host
    forward_headers: [authorization, x-tenant-id, x-request-id]
    log_level: info
    shutdown_timeout: 30.0      # seconds in-flight requests get to finish on SIGTERM / Ctrl-C
    header_timeout: 10.0        # seconds a client has to send a request's headers (0: off)
    body_timeout: 30.0          # seconds a client has to send a request's declared body (0: off)
    max_header_bytes: 32768     # request line and headers; larger get 431 (0: off)
    max_client_connections: 0   # open client connections per process before 503 (0: sized from the fd limit)
    router_timeout: 60.0        # seconds a request may execute before 504 GATEWAY_TIMEOUT (0: off)
    max_tokens: 5000            # operation limits, checked before validation (0: no limit)
    max_depth: 20
    max_height: 2000            # field selections, fragments expanded
    max_aliases: 100
    max_root_fields: 50
    max_directives: 50
    max_fragments: 100
    max_introspection_fields: 10   # __schema / __type selections per operation
    plan_cache_bytes: 134217728 # estimated bytes of prepared operations kept (and 1024 operations)
    subgraphs:
      catalog:
        url: http://catalog:8002/graphql
        timeout: 5.0
    auth:
      issuers:                  # trusted token issuers (default: the development issuer, identity)
        - issuer: http://identity:4001
          audiences: [dpp]      # default [dpp]
          algorithms: [RS256, ES256]
          jwks_uri: null        # null: OIDC discovery
          tenant_claim: tid     # null: no tenant claim
          tenant_from_issuer: null   # regex with a (?P<tenant>...) group: one realm per tenant
          roles_claim: null     # dotted path, e.g. realm_access.roles (Keycloak)
      leeway: 30                # seconds of clock skew allowed on exp / nbf / iat
      jwks_poll_interval: 300   # seconds between JWKS refreshes (unknown kids refresh at once)
      jwks_min_refresh_interval: 10   # at most one refresh per issuer this often for unknown kids
      context_url: http://identity:4001/auth/context   # unset: principal from token claims only
      context_ttl: 5            # seconds a resolved caller context is cached
    rate_limits:                # requests per window; 0 = no limit (the default)
      window: 60                # seconds
      standard: 600             # per tenant, by the tenant's class
      professional: 3000
      enterprise: 12000
      anonymous: 120            # per client address
    redis_url: redis://redis:6379/0   # shared rate-limit counters, context invalidation
    authorization:              # @authenticated / @requiresScopes / @policy of the supergraph
      mode: filter              # filter: denied fields become null + error; reject: refuse the request
      dry_run: false            # log what would be denied, execute unfiltered
    circuit_breaker:            # per subgraph (gateway/resilience/breaker.py)
      enabled: true
      window: 10                # seconds of outcomes the error rate is computed over
      error_rate: 0.5           # open at this share of failures ...
      min_requests: 20          # ... once the window holds this many requests
      cooldown: 5               # seconds open (requests fail fast) before half-open probes
      half_open_probes: 3       # probes at a time; this many successes close the circuit
    retry:                      # queries only, never mutations (gateway/resilience/retry.py)
      attempts: 2               # retries after the first attempt (0: off)
      backoff: 0.05             # seconds, doubling per retry, full jitter
      max_backoff: 1.0
      max_retry_after: 2.0      # a longer Retry-After is not waited for
      budget_ratio: 0.2         # retries add at most this share of a subgraph's requests ...
      budget_min_per_second: 5  # ... or this many per second, whichever is more
    dedup_queries: true         # concurrent identical subgraph queries share one request
    health:
      check_subgraphs: false    # /health/ready also fails when a subgraph's circuit is open
      probe_interval: 0         # seconds between { __typename } probes of each subgraph (0: none)
    apq:                        # Automatic Persisted Queries (gateway/persisted); Redis when redis_url is set
      enabled: true
      max_entries: 1000         # in-memory store: queries kept, least recently used leave first ...
      max_bytes: 8388608        # ... and their bytes
      ttl: 86400                # seconds a query lives in Redis
    trusted_documents:          # an Apollo persisted-query manifest of allowed operations
      mode: off                 # off | log_unknown | safelist_by_id | safelist_by_body
      manifest: null            # the manifest file (required unless off); relative to this file
      poll_interval: 2.0        # seconds between manifest file checks (0: load once)
      bypass: false             # development only: refusals are logged and the operation runs
    batching:                   # JSON array bodies (POST only)
      enabled: false
      max_size: 10
    demand_control:             # @cost / @listSize cost estimates (gateway/cost)
      mode: measure             # off | measure (compute and report) | enforce (refuse above max_cost)
      max_cost: 5000
      default_list_size: 10     # size of a list field without @listSize
      expose: false             # extensions.cost (estimated, actual, result) in every response
    subscriptions:              # client subscription protocols on /graphql (gateway/http/streams.py); 0 = off
      init_timeout: 10          # seconds a WebSocket has to send connection_init (close 4408)
      max_per_connection: 100   # active subscriptions per WebSocket (SUBSCRIPTION_LIMIT_REACHED)
      max_frame_bytes: 262144   # largest WebSocket message a client may send (close 1009)
      heartbeat_interval: 5     # seconds between SSE comments / multipart {} parts while idle
      ping_interval: 15         # seconds between graphql-transport-ws pings the gateway sends
      send_timeout: 10          # seconds a client may leave a message unread before it is disconnected
      max_connection_lifetime: 0   # seconds a subscription connection may stay open
      max_per_tenant: 1000      # active subscriptions of one tenant per gateway process (SUBSCRIPTION_LIMIT_REACHED)
      max_lifetime: 86400       # seconds one subscription may run (SUBSCRIPTION_LIFETIME_EXCEEDED)
      queue_size: 128           # events waiting for one subscriber (minimum 1) ...
      slow_consumer: drop_oldest   # ... when full: drop_oldest (+ SUBSCRIPTION_EVENTS_DROPPED) or disconnect
      reconnect_timeout: 30     # seconds to re-establish a dropped subgraph subscription (SUBGRAPH_SUBSCRIPTION_FAILED)
      reconnect_backoff: 0.1    # first wait before reconnecting, doubling with jitter ...
      reconnect_max_backoff: 5  # ... up to this
      replay_size: 64           # events kept per upstream subscription for Last-Event-ID resume
      resume_window: 5          # seconds an upstream subscription outlives its last subscriber (resume)
      upstream_ping_interval: 20   # seconds between WebSocket pings to subgraphs
      upstream_open_timeout: 10    # seconds to connect to a subgraph and get connection_ack
      upstream_max_operations: 100 # subscriptions multiplexed over one WebSocket to a subgraph
      upstream_queue_size: 256     # subgraph messages waiting for one upstream subscription

    introspection: on           # on the main /graphql: on | off | authenticated | auto (gateway/variants_config.py)
    variants:                   # contract variants on their own paths (gateway compose --contract)
      partner:
        path: /partner/graphql  # default /<name>/graphql
        supergraph: partner.graphql   # default <name>.graphql beside the main supergraph
        introspection: auto     # on in development, else authenticated callers only

Environment (``GATEWAY_CONFIG`` names the YAML file for ``gateway serve``):
``GATEWAY_SUPERGRAPH``, ``GATEWAY_HOST``, ``GATEWAY_PORT``, ``GATEWAY_DEVELOPMENT``, ``GATEWAY_GRAPHIQL``,
``GATEWAY_GRAPHIQL_ASSETS``, ``DPP_ENV`` (``development`` turns GraphiQL on unless it is set),
``GATEWAY_MAX_BODY_BYTES``, ``GATEWAY_POLL_INTERVAL``, ``GATEWAY_DEFAULT_TIMEOUT``,
``GATEWAY_MAX_CONNECTIONS``, ``GATEWAY_FORWARD_HEADERS`` (comma separated),
``GATEWAY_LOG_LEVEL``, ``GATEWAY_SHUTDOWN_TIMEOUT``, ``GATEWAY_HEADER_TIMEOUT``, ``GATEWAY_BODY_TIMEOUT``,
``GATEWAY_MAX_HEADER_BYTES``, ``GATEWAY_MAX_CLIENT_CONNECTIONS``, ``GATEWAY_ROUTER_TIMEOUT``,
``GATEWAY_MAX_TOKENS`` (and the other operation
limits: ``GATEWAY_MAX_DEPTH``, ``_HEIGHT``, ``_ALIASES``, ``_ROOT_FIELDS``, ``_DIRECTIVES``, ``_FRAGMENTS``,
``_INTROSPECTION_FIELDS``), ``GATEWAY_PLAN_CACHE_BYTES``, ``GATEWAY_OIDC_ISSUERS`` (comma separated issuer
URLs, each with ``GATEWAY_OIDC_AUDIENCE``, ``GATEWAY_OIDC_ALGORITHMS``, ``GATEWAY_OIDC_TENANT_CLAIM`` (``-`` for
none), ``GATEWAY_OIDC_TENANT_FROM_ISSUER`` and ``GATEWAY_OIDC_ROLES_CLAIM``), ``GATEWAY_OIDC_LEEWAY``,
``GATEWAY_OIDC_JWKS_POLL_INTERVAL``, ``GATEWAY_OIDC_JWKS_MIN_REFRESH``, ``GATEWAY_AUTH_CONTEXT_URL``,
``GATEWAY_AUTH_CONTEXT_TTL``,
``GATEWAY_RATE_LIMIT_WINDOW`` / ``_STANDARD`` / ``_PROFESSIONAL`` / ``_ENTERPRISE`` / ``_ANONYMOUS``,
``GATEWAY_REDIS_URL``, ``GATEWAY_AUTHORIZATION_MODE``, ``GATEWAY_AUTHORIZATION_DRY_RUN``,
``GATEWAY_CIRCUIT_BREAKER_<KEY>``, ``GATEWAY_RETRY_<KEY>``, ``GATEWAY_HEALTH_<KEY>``, ``GATEWAY_APQ_<KEY>``,
``GATEWAY_TRUSTED_DOCUMENTS_<KEY>``, ``GATEWAY_BATCHING_<KEY>``, ``GATEWAY_DEMAND_CONTROL_<KEY>``,
``GATEWAY_SUBSCRIPTIONS_<KEY>``
(the YAML keys above, upper-cased),
``GATEWAY_DEDUP_QUERIES``, ``GATEWAY_INTROSPECTION``, ``GATEWAY_VARIANTS`` (names) and
``GATEWAY_VARIANT_<NAME>_PATH`` / ``_SUPERGRAPH`` / ``_INTROSPECTION``, and per subgraph
``GATEWAY_SUBGRAPH_<NAME>_URL`` / ``GATEWAY_SUBGRAPH_<NAME>_TIMEOUT`` (``NAME`` is the
subgraph name upper-cased; a name with ``-`` in it can only be set in the YAML file).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gateway.auth.config import (
    DEFAULT_ISSUERS,
    TENANT_CLASSES,
    IssuerSettingError,
    check_auth,
    issuers_from_gateway_env,
    parse_issuers,
)
from gateway.cost.config import COST_ENV, COST_KEYS, COST_SECTIONS, COST_SETTINGS, check_cost, coerce_cost
from gateway.persisted.config import (
    PERSISTED_ENV,
    PERSISTED_KEYS,
    PERSISTED_SECTIONS,
    PERSISTED_SETTINGS,
    check_persisted,
    coerce_persisted,
)
from gateway.plan_cache import DEFAULT_MAX_BYTES
from gateway.resilience.config import (
    RESILIENCE_ENV,
    RESILIENCE_KEYS,
    RESILIENCE_SECTIONS,
    RESILIENCE_SETTINGS,
    check_resilience,
    coerce_resilience,
)
from gateway.variants_config import (
    VariantSettingError,
    VariantSettings,
    coerce_introspection,
    coerce_variants,
    variants_from_env,
    variants_from_yaml,
)
from graphql_limits import DEFAULT_LIMITS
from tokenauth.config import IssuerConfig

DEFAULT_FORWARD_HEADERS: tuple[str, ...] = ("authorization", "x-tenant-id", "x-request-id")

_SUBGRAPH_ENV = re.compile(r"^GATEWAY_SUBGRAPH_(?P<name>[A-Z0-9_]+)_(?P<what>URL|TIMEOUT)$")
_LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    """A setting has a value the gateway cannot use; the message names the setting."""


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
    # Client connections and requests (gateway/http/guards.py, gateway/http/app.py); 0 turns one off
    # (max_client_connections 0: sized from the file descriptor limit).
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
    # Subscriptions (YAML section ``subscriptions``; kinds in _SUBSCRIPTION_SETTINGS below; 0 turns one off).
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
        values: dict[str, Any] = {}
        layers = [_from_yaml(Path(config)) if config is not None else {}]
        layers.append(_from_env(os.environ if environ is None else environ))
        layers.append({k: v for k, v in overrides.items() if v is not None})
        for layer in layers:
            for key, value in layer.items():
                if key in ("subgraph_urls", "subgraph_timeouts", "variants") and isinstance(value, Mapping):
                    # Per-subgraph entries merge, so the environment can override one URL
                    # without repeating the file's others.
                    values[key] = {**values.get(key, {}), **value}
                else:
                    values[key] = value
        env = os.environ if environ is None else environ
        dpp_env = env.get("DPP_ENV", "").strip().lower()
        if _coerce("graphiql", values.get("graphiql")) is None and dpp_env == "development":
            values["graphiql"] = True  # make run: GraphiQL on unless configured otherwise
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Settings:
        """Validate and coerce a flat mapping of setting names to values."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
        kwargs: dict[str, Any] = {}
        for name, value in values.items():
            kwargs[name] = _coerce(name, value)
        settings = cls(**kwargs)
        if not 0 <= settings.port <= 65535:
            raise SettingsError(f"port: {settings.port} is not a TCP port")
        if settings.max_body_bytes <= 0:
            raise SettingsError("max_body_bytes: must be positive")
        if settings.poll_interval < 0:
            raise SettingsError("poll_interval: must be 0 (off) or positive")
        if settings.default_timeout <= 0 or any(t <= 0 for t in settings.subgraph_timeouts.values()):
            raise SettingsError("timeouts must be positive")
        if settings.log_level not in _LOG_LEVELS:
            raise SettingsError(f"log_level: must be one of {', '.join(_LOG_LEVELS)}")
        if settings.shutdown_timeout < 0:
            raise SettingsError("shutdown_timeout: must not be negative")
        for name in _EDGE_LIMITS:
            if getattr(settings, name) < 0:
                raise SettingsError(f"{name}: must be 0 (off) or positive")
        if settings.max_connections <= 0:
            raise SettingsError("max_connections: must be positive")
        for name in _LIMIT_SETTINGS:
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


_EDGE_LIMITS = ("header_timeout", "body_timeout", "max_header_bytes", "max_client_connections", "router_timeout")
_LIMIT_SETTINGS = (
    "max_tokens", "max_depth", "max_height", "max_aliases", "max_root_fields", "max_directives",
    "max_fragments", "max_introspection_fields", "plan_cache_bytes",
)


def _coerce(name: str, value: Any) -> Any:
    try:
        if name in ("supergraph", "graphiql_assets"):
            return None if value in (None, "") else Path(value)
        if name == "graphiql":
            return None if value is None or str(value).strip().lower() in ("", "auto") else _bool(value)
        if name in ("port", "max_body_bytes", "max_connections", "max_header_bytes", "max_client_connections") \
                or name in _LIMIT_SETTINGS:
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if name in ("poll_interval", "default_timeout", "shutdown_timeout", "header_timeout", "body_timeout",
                    "router_timeout"):
            return float(value)
        if name == "log_format":
            log_format = str(value).strip().lower()
            if log_format not in ("text", "json"):
                raise SettingsError(f"log_format: must be text or json, not {value!r}")
            return log_format
        if name in ("metrics_max_operation_names", "metrics_max_clients"):
            if isinstance(value, bool) or int(value) < 0:
                raise ValueError(value)
            return int(value)
        if name == "metrics_operation_names":
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(dict.fromkeys(str(n).strip() for n in items if str(n).strip()))
        if name in ("development", "authorization_dry_run", "tracing_include_document"):
            return _bool(value)
        if name == "authorization_mode":
            mode = str(value).strip().lower()
            if mode not in ("filter", "reject"):
                raise SettingsError(f"authorization.mode: must be filter or reject, not {value!r}")
            return mode
        if name == "forward_headers":
            items = value.split(",") if isinstance(value, str) else list(value)
            # HTTP header names are case-insensitive; keep them lower-case once, here.
            return tuple(dict.fromkeys(str(h).strip().lower() for h in items if str(h).strip()))
        if name == "subgraph_urls":
            return {str(k): str(v) for k, v in dict(value).items()}
        if name == "subgraph_timeouts":
            return {str(k): float(v) for k, v in dict(value).items()}
        if name == "log_level":
            return str(value).lower()
        if name == "host":
            return str(value)
        if name == "auth_issuers":
            return parse_issuers(value)
        if name in ("auth_leeway", *_RATE_LIMIT_COUNTS):
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(value)
        if name in _AUTH_SECONDS:
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if name in ("auth_context_url", "redis_url"):
            return None if value in (None, "") else str(value).strip()
        if name in RESILIENCE_SETTINGS:
            return coerce_resilience(name, value)
        if name in COST_SETTINGS:
            return coerce_cost(name, value)
        if name in PERSISTED_SETTINGS:
            return coerce_persisted(name, value)
        if name == "introspection":
            return coerce_introspection(value)
        if name == "variants":
            return coerce_variants(value)
        if name == "subscriptions_slow_consumer":
            policy = str(value).strip().lower()
            if policy not in ("drop_oldest", "disconnect"):
                raise SettingsError(f"{_key(name)}: must be drop_oldest or disconnect, not {value!r}")
            return policy
        if name in _SUBSCRIPTION_SETTINGS:
            if isinstance(value, bool):
                raise ValueError(value)
            number = float(value) if _SUBSCRIPTION_SETTINGS[name] == "seconds" else int(value)
            if number < 0:
                raise SettingsError(f"{_key(name)}: must be 0 (off) or positive")
            return number
    except SettingsError:
        raise
    except (IssuerSettingError, VariantSettingError) as exc:
        raise SettingsError(str(exc)) from None
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{_key(name)}: cannot use {value!r}") from exc
    return value


# Subscription settings: flat name -> "seconds" (float) or "count" (int); both 0 (off) or positive.
_SUBSCRIPTION_SETTINGS = {
    "subscriptions_init_timeout": "seconds",
    "subscriptions_max_per_connection": "count",
    "subscriptions_max_frame_bytes": "count",
    "subscriptions_heartbeat_interval": "seconds",
    "subscriptions_ping_interval": "seconds",
    "subscriptions_send_timeout": "seconds",
    "subscriptions_max_connection_lifetime": "seconds",
    "subscriptions_max_per_tenant": "count",
    "subscriptions_max_lifetime": "seconds",
    "subscriptions_queue_size": "count",
    "subscriptions_slow_consumer": "choice",
    "subscriptions_reconnect_timeout": "seconds",
    "subscriptions_reconnect_backoff": "seconds",
    "subscriptions_reconnect_max_backoff": "seconds",
    "subscriptions_replay_size": "count",
    "subscriptions_resume_window": "seconds",
    "subscriptions_upstream_ping_interval": "seconds",
    "subscriptions_upstream_open_timeout": "seconds",
    "subscriptions_upstream_max_operations": "count",
    "subscriptions_upstream_queue_size": "count",
}
_AUTH_SECONDS = ("auth_jwks_poll_interval", "auth_jwks_min_refresh_interval", "auth_context_ttl", "rate_limit_window")
_RATE_LIMIT_COUNTS = tuple(f"rate_limit_{c}" for c in (*TENANT_CLASSES, "anonymous"))
# Flat setting name -> the key a user writes in the YAML file (error messages name that one).
_SECTION_KEYS = {
    "auth_issuers": "auth.issuers",
    "auth_leeway": "auth.leeway",
    "auth_jwks_poll_interval": "auth.jwks_poll_interval",
    "auth_jwks_min_refresh_interval": "auth.jwks_min_refresh_interval",
    "auth_context_url": "auth.context_url",
    "auth_context_ttl": "auth.context_ttl",
    **{f"rate_limit_{k}": f"rate_limits.{k}" for k in ("window", *TENANT_CLASSES, "anonymous")},
    "authorization_mode": "authorization.mode",
    "authorization_dry_run": "authorization.dry_run",
    **RESILIENCE_KEYS,
    **PERSISTED_KEYS,
    **COST_KEYS,
    **{name: f"subscriptions.{name.removeprefix('subscriptions_')}" for name in _SUBSCRIPTION_SETTINGS},
}


def _key(name: str) -> str:
    return _SECTION_KEYS.get(name, name)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(value)


def _from_yaml(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"config file {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise SettingsError(f"config file {path}: invalid YAML: {exc}") from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SettingsError(f"config file {path}: expected a mapping at the top level")
    from gateway.config_file import check_file_keys

    check_file_keys(path, raw)  # unknown keys: named with their line and the closest known key
    values = dict(raw)
    if "variants" in values:
        try:
            values["variants"] = variants_from_yaml(values["variants"], path.parent)
        except VariantSettingError as exc:
            raise SettingsError(f"config file {path}: {exc}") from None
    for section, prefix in (("auth", "auth_"), ("rate_limits", "rate_limit_"), ("authorization", "authorization_"),
                            *RESILIENCE_SECTIONS, *PERSISTED_SECTIONS, *COST_SECTIONS,
                            ("subscriptions", "subscriptions_")):
        entries = values.pop(section, None) or {}
        if not isinstance(entries, dict):
            raise SettingsError(f"config file {path}: {section} must be a mapping")
        for name, entry in entries.items():
            values[f"{prefix}{name}"] = entry
            if f"{prefix}{name}" not in _SECTION_KEYS:
                raise SettingsError(f"config file {path}: {section}: unknown key {name!r}")
    subgraphs = values.pop("subgraphs", None) or {}
    if not isinstance(subgraphs, dict):
        raise SettingsError(f"config file {path}: subgraphs must be a mapping of name to settings")
    urls: dict[str, str] = {}
    timeouts: dict[str, float] = {}
    for name, entry in subgraphs.items():
        if not isinstance(entry, dict):
            raise SettingsError(f"config file {path}: subgraphs.{name} must be a mapping")
        extra = set(entry) - {"url", "timeout"}
        if extra:
            raise SettingsError(f"config file {path}: subgraphs.{name}: unknown key(s) {sorted(extra)}")
        if entry.get("url") is not None:
            urls[str(name)] = str(entry["url"])
        if entry.get("timeout") is not None:
            timeouts[str(name)] = entry["timeout"]
    if urls:
        values["subgraph_urls"] = urls
    if timeouts:
        values["subgraph_timeouts"] = timeouts
    for name in ("supergraph", "trusted_documents_manifest", "graphiql_assets"):
        given = values.get(name)
        if isinstance(given, str) and given and not Path(given).is_absolute():
            values[name] = path.parent / given
    return values


_ENV_KEYS = {
    "GATEWAY_SUPERGRAPH": "supergraph",
    "GATEWAY_HOST": "host",
    "GATEWAY_PORT": "port",
    "GATEWAY_DEVELOPMENT": "development",
    "GATEWAY_GRAPHIQL": "graphiql",
    "GATEWAY_GRAPHIQL_ASSETS": "graphiql_assets",
    "GATEWAY_MAX_BODY_BYTES": "max_body_bytes",
    "GATEWAY_POLL_INTERVAL": "poll_interval",
    "GATEWAY_DEFAULT_TIMEOUT": "default_timeout",
    "GATEWAY_MAX_CONNECTIONS": "max_connections",
    "GATEWAY_FORWARD_HEADERS": "forward_headers",
    "GATEWAY_LOG_LEVEL": "log_level",
    "GATEWAY_SHUTDOWN_TIMEOUT": "shutdown_timeout",
    **{f"GATEWAY_{name.upper()}": name for name in ("header_timeout", "body_timeout", "max_header_bytes",
                                                    "max_client_connections", "router_timeout")},
    "GATEWAY_LOG_FORMAT": "log_format",
    "GATEWAY_METRICS_MAX_OPERATION_NAMES": "metrics_max_operation_names",
    "GATEWAY_METRICS_OPERATION_NAMES": "metrics_operation_names",
    "GATEWAY_METRICS_MAX_CLIENTS": "metrics_max_clients",
    "GATEWAY_TRACING_INCLUDE_DOCUMENT": "tracing_include_document",
    **{f"GATEWAY_{name.upper()}": name for name in _LIMIT_SETTINGS},
    "GATEWAY_OIDC_LEEWAY": "auth_leeway",
    "GATEWAY_OIDC_JWKS_POLL_INTERVAL": "auth_jwks_poll_interval",
    "GATEWAY_OIDC_JWKS_MIN_REFRESH": "auth_jwks_min_refresh_interval",
    "GATEWAY_AUTH_CONTEXT_URL": "auth_context_url",
    "GATEWAY_AUTH_CONTEXT_TTL": "auth_context_ttl",
    "GATEWAY_RATE_LIMIT_WINDOW": "rate_limit_window",
    "GATEWAY_RATE_LIMIT_STANDARD": "rate_limit_standard",
    "GATEWAY_RATE_LIMIT_PROFESSIONAL": "rate_limit_professional",
    "GATEWAY_RATE_LIMIT_ENTERPRISE": "rate_limit_enterprise",
    "GATEWAY_RATE_LIMIT_ANONYMOUS": "rate_limit_anonymous",
    "GATEWAY_REDIS_URL": "redis_url",
    "GATEWAY_AUTHORIZATION_MODE": "authorization_mode",
    "GATEWAY_AUTHORIZATION_DRY_RUN": "authorization_dry_run",
    "GATEWAY_INTROSPECTION": "introspection",
    **RESILIENCE_ENV,
    **PERSISTED_ENV,
    **COST_ENV,
    **{f"GATEWAY_{name.upper()}": name for name in _SUBSCRIPTION_SETTINGS},
}
def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for env_name, key in _ENV_KEYS.items():
        if env_name in environ:
            values[key] = environ[env_name]
    try:
        issuers = issuers_from_gateway_env(environ)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    if issuers is not None:
        values["auth_issuers"] = issuers
    variants = variants_from_env(environ)
    if variants:
        values["variants"] = variants
    urls: dict[str, str] = {}
    timeouts: dict[str, str] = {}
    for env_name, value in environ.items():
        match = _SUBGRAPH_ENV.match(env_name)
        if match is None:
            continue
        # Subgraph names in supergraphs are lower-case by convention (join__graph name).
        name = match["name"].lower()
        (urls if match["what"] == "URL" else timeouts)[name] = value
    if urls:
        values["subgraph_urls"] = urls
    if timeouts:
        values["subgraph_timeouts"] = timeouts
    return values
