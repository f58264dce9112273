"""Where the gateway's settings come from: defaults, a YAML file, the environment and command-line
flags, in that order of precedence (later wins). :func:`gather` layers them into one flat mapping
of setting names that :meth:`gateway.settings.Settings.from_mapping` validates.

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

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from gateway.auth.config import issuers_from_gateway_env
from gateway.config_file import check_file_keys
from gateway.cost.config import COST_ENV, COST_SECTIONS
from gateway.persisted.config import PERSISTED_ENV, PERSISTED_SECTIONS
from gateway.resilience.config import RESILIENCE_ENV, RESILIENCE_SECTIONS
from gateway.settings_values import (
    LIMIT_SETTINGS,
    SECTION_KEYS,
    SUBSCRIPTION_SETTINGS,
    SettingsError,
    coerce,
)
from gateway.variants_config import VariantSettingError, variants_from_env, variants_from_yaml

_SUBGRAPH_ENV = re.compile(r"^GATEWAY_SUBGRAPH_(?P<name>[A-Z0-9_]+)_(?P<what>URL|TIMEOUT)$")


def gather(
    config: str | os.PathLike[str] | None, environ: Mapping[str, str] | None, overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """The flat setting values of ``config`` (YAML), then ``environ`` (default ``os.environ``), then
    ``overrides`` (command-line flags; ``None`` values are ignored), later layers winning."""
    values: dict[str, Any] = {}
    layers = [from_yaml(Path(config)) if config is not None else {}]
    layers.append(from_env(os.environ if environ is None else environ))
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
    if coerce("graphiql", values.get("graphiql")) is None and dpp_env == "development":
        values["graphiql"] = True  # make run: GraphiQL on unless configured otherwise
    return values


def from_yaml(path: Path) -> dict[str, Any]:
    """The flat setting values the YAML file at ``path`` gives (sections flattened, paths made absolute)."""
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
            if f"{prefix}{name}" not in SECTION_KEYS:
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


ENV_KEYS = {
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
    **{f"GATEWAY_{name.upper()}": name for name in LIMIT_SETTINGS},
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
    **{f"GATEWAY_{name.upper()}": name for name in SUBSCRIPTION_SETTINGS},
}
def from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """The flat setting values ``environ`` gives (``GATEWAY_*``)."""
    values: dict[str, Any] = {}
    for env_name, key in ENV_KEYS.items():
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
