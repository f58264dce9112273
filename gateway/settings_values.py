"""What each gateway setting's value may be: coercion from YAML / environment text, and the YAML key
a flat setting name is written as (``retry_attempts`` is ``retry.attempts``), for error messages.

Areas with a module of their own (``gateway/auth/config.py``, ``gateway/resilience/config.py``,
``gateway/cost/config.py``, ``gateway/persisted/config.py``, ``gateway/variants_config.py``) coerce their
settings there; :func:`coerce` dispatches to them and turns their errors into :class:`SettingsError`.
Checks across settings (a port in range, positive timeouts ...) are :meth:`gateway.settings.Settings.from_mapping`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.auth.config import TENANT_CLASSES, IssuerSettingError, parse_issuers
from gateway.cost.config import COST_KEYS, COST_SETTINGS, coerce_cost
from gateway.persisted.config import PERSISTED_KEYS, PERSISTED_SETTINGS, coerce_persisted
from gateway.resilience.config import RESILIENCE_KEYS, RESILIENCE_SETTINGS, coerce_resilience
from gateway.settings_kinds import parse_bool, parse_count, parse_number
from gateway.variants_config import VariantSettingError, coerce_introspection, coerce_variants

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


class SettingsError(ValueError):
    """A setting has a value the gateway cannot use; the message names the setting."""


EDGE_LIMITS = ("header_timeout", "body_timeout", "max_header_bytes", "max_client_connections", "router_timeout")
LIMIT_SETTINGS = (
    "max_tokens", "max_depth", "max_height", "max_aliases", "max_root_fields", "max_directives",
    "max_fragments", "max_introspection_fields", "plan_cache_bytes",
)


def coerce(name: str, value: Any) -> Any:
    """``value`` as the type of setting ``name``; SettingsError naming the setting when it cannot be."""
    try:
        if name in ("supergraph", "graphiql_assets"):
            return None if value in (None, "") else Path(value)
        if name == "graphiql":
            return None if value is None or str(value).strip().lower() in ("", "auto") else parse_bool(value)
        if name in ("port", "max_body_bytes", "max_connections", "max_header_bytes", "max_client_connections") \
                or name in LIMIT_SETTINGS:
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
            return parse_bool(value)
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
            return parse_count(value)
        if name in _AUTH_SECONDS:
            return parse_number(value)
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
                raise SettingsError(f"{setting_key(name)}: must be drop_oldest or disconnect, not {value!r}")
            return policy
        if name in SUBSCRIPTION_SETTINGS:
            if isinstance(value, bool):
                raise ValueError(value)
            number = float(value) if SUBSCRIPTION_SETTINGS[name] == "seconds" else int(value)
            if number < 0:
                raise SettingsError(f"{setting_key(name)}: must be 0 (off) or positive")
            return number
    except SettingsError:
        raise
    except (IssuerSettingError, VariantSettingError) as exc:
        raise SettingsError(str(exc)) from None
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{setting_key(name)}: cannot use {value!r}") from exc
    return value


# Subscription settings: flat name -> "seconds" (float) or "count" (int); both 0 (off) or positive.
SUBSCRIPTION_SETTINGS = {
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
SECTION_KEYS = {
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
    **{name: f"subscriptions.{name.removeprefix('subscriptions_')}" for name in SUBSCRIPTION_SETTINGS},
}


def setting_key(name: str) -> str:
    """The key a user writes in the YAML file for flat setting ``name``."""
    return SECTION_KEYS.get(name, name)
