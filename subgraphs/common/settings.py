"""One settings object per subgraph process, read from the environment.

Every variable is documented in the README's configuration table; keep the two in step.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tokenauth.settings import VerifierSettings, verifier_settings_from_env

SERVICE_PORTS: dict[str, int] = {"identity": 4001, "catalog": 4002, "templates": 4003, "passport": 4004}
SERVICE_NAMES: tuple[str, ...] = tuple(SERVICE_PORTS)
DEVELOPMENT = "development"
PRODUCTION = "production"
ENVIRONMENTS: tuple[str, ...] = (DEVELOPMENT, PRODUCTION)
DEFAULT_ISSUER_URL = "http://127.0.0.1:4001"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def default_database_url(service: str, data_dir: Path) -> str:
    """The embedded default: one SQLite file per subgraph under ``DATA_DIR``."""
    return f"sqlite+aiosqlite:///{(data_dir / f'{service}.db').as_posix()}"


def normalise_database_url(url: str) -> str:
    """Accept plain ``postgresql://`` / ``sqlite://`` URLs and pick the async driver."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.split("://", 1)[1]
    return url


def startup_refusals(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    """Why a process with ``settings`` must not start (empty: it may).

    Outside development nothing starts with a development key or secret. ``JWT_SECRET``
    (the HS256 secret of the old development issuer) is refused there: HS256 is gone, and
    whoever sets it believes it protects something. The demo seed refuses itself
    (``subgraphs.identity.seed``), and the demo data is off by default outside development.
    """
    refusals: list[str] = []
    if environ.get("JWT_SECRET") and not settings.is_development:
        refusals.append(
            "JWT_SECRET is set, but HS256 tokens are gone: identity signs RS256 tokens with the keys in "
            "$DATA_DIR/identity-keys.json (dpp-keys rotate), and every service verifies them against the "
            "issuers' JWKS (OIDC_ISSUERS). Remove JWT_SECRET."
        )
    if environ.get("SEED", "").lower() in ("1", "true", "yes") and not settings.is_development:
        refusals.append(
            f"SEED=1 loads the demo accounts, whose passwords are published; not with DPP_ENV={settings.environment}"
        )
    return refusals


def startup_warnings(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    """What a process with ``settings`` should say loudly when it starts."""
    warnings: list[str] = []
    if settings.is_development:
        warnings.append(
            "DEVELOPMENT MODE (DPP_ENV=development): demo accounts with published passwords, signing keys generated "
            "into DATA_DIR, tokens trusted from the local issuer; set DPP_ENV=production for anything shared"
        )
        if environ.get("JWT_SECRET"):
            warnings.append("JWT_SECRET is ignored: HS256 tokens are gone (identity signs RS256; see OIDC_ISSUERS)")
    return warnings


def _environment() -> str:
    value = _env("DPP_ENV", DEVELOPMENT).strip().lower()
    if value not in ENVIRONMENTS:
        raise ValueError(f"DPP_ENV must be one of {', '.join(ENVIRONMENTS)}, not {value!r}")
    return value


def _identity_base(identity_graphql_url: str) -> str:
    """``http://host:port`` of identity, from its GraphQL URL (``IDENTITY_URL``)."""
    base = identity_graphql_url.rstrip("/")
    return base[: -len("/graphql")] if base.endswith("/graphql") else base


@dataclass(frozen=True, slots=True)
class Settings:
    """Configuration of one subgraph process."""

    service: str
    host: str = "127.0.0.1"
    port: int = 4001
    database_url: str = ""
    data_dir: Path = Path("var")
    jwt_audience: str = "dpp"
    access_token_ttl: int = 300
    refresh_token_ttl: int = 14 * 24 * 3600
    log_level: str = "info"
    log_format: str = "text"  # text | json (gateway.telemetry.logging); every line carries the request's x-request-id
    sql_echo: bool = False
    service_urls: dict[str, str] = field(default_factory=dict)
    # development (the default of ``dpp-stack``/``make run``) or production (no development keys or secrets).
    environment: str = DEVELOPMENT
    # The dev issuer's URL (identity itself): ``iss`` of the tokens it signs, base of discovery and JWKS.
    issuer_url: str = DEFAULT_ISSUER_URL
    # Base URL of identity (``IDENTITY_URL`` without ``/graphql``): ``{identity_url}/auth/context``.
    identity_url: str = DEFAULT_ISSUER_URL
    # Seconds a resolved caller context (roles, membership, policies) is cached by a subgraph.
    auth_context_ttl: float = 5.0
    # Redis for cross-process invalidation (``dpp:auth:invalidate``); empty: caches only expire.
    redis_url: str = ""
    # The issuers whose tokens this subgraph accepts (``OIDC_*``; default: identity's ``ISSUER_URL``).
    verifier: VerifierSettings = field(default_factory=lambda: verifier_settings_from_env({}))
    # Identity's login protection: direct peers whose X-Forwarded-For is believed, and the failure limits.
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    login_max_failures_per_account: int = 5
    login_max_failures_per_address: int = 20
    login_lockout_seconds: int = 900
    # Parsed and validated documents kept per subgraph (subgraphs/common/limits.py); 0: parse and validate each time.
    document_cache_size: int = 1024
    # Public passport views kept by the passport subgraph (subgraphs/passport/public_cache.py); 0: off.
    public_passport_cache_size: int = 20_000  # packed: about 1.2 KB each (6 public fields)
    public_passport_cache_ttl: float = 300.0
    # Subscriptions (subgraphs.common.events / subscriptions): events queued per subscriber before the
    # oldest are dropped, entries kept in each Redis stream, seconds between re-checks of a subscriber's token.
    subscription_queue_size: int = 100
    events_stream_maxlen: int = 10_000
    subscription_auth_recheck: float = 5.0

    @classmethod
    def from_env(cls, service: str) -> Settings:
        """Read ``<SERVICE>_PORT``, ``<SERVICE>_DATABASE_URL`` (falling back to ``DATABASE_URL``) etc."""
        prefix = service.upper()
        data_dir = Path(_env("DATA_DIR", "var"))
        shared_db = os.environ.get("DATABASE_URL", "")
        database_url = _env(f"{prefix}_DATABASE_URL", shared_db) or default_database_url(service, data_dir)
        service_urls = {
            name: _env(f"{name.upper()}_URL", f"http://127.0.0.1:{_env(f'{name.upper()}_PORT', str(port))}/graphql")
            for name, port in SERVICE_PORTS.items()
        }
        identity_base = _identity_base(service_urls["identity"])
        # Identity is the development issuer: by default its own address (IDENTITY_URL / IDENTITY_PORT).
        issuer_url = _env("ISSUER_URL", identity_base).rstrip("/")
        verifier = verifier_settings_from_env({**os.environ, "ISSUER_URL": issuer_url})
        return cls(
            service=service,
            host=_env(f"{prefix}_HOST", _env("SUBGRAPH_HOST", "127.0.0.1")),
            port=int(_env(f"{prefix}_PORT", str(SERVICE_PORTS.get(service, 4001)))),
            database_url=normalise_database_url(database_url),
            data_dir=data_dir,
            jwt_audience=_env("JWT_AUDIENCE", "dpp"),
            access_token_ttl=int(_env("ACCESS_TOKEN_TTL", "300")),
            refresh_token_ttl=int(_env("REFRESH_TOKEN_TTL", str(14 * 24 * 3600))),
            log_level=_env("LOG_LEVEL", "info"),
            log_format=_log_format(_env("LOG_FORMAT", "text")),
            sql_echo=_env("SQL_ECHO", "0") in ("1", "true", "yes"),
            service_urls=service_urls,
            environment=_environment(),
            issuer_url=issuer_url,
            identity_url=identity_base,
            auth_context_ttl=float(_env("AUTH_CONTEXT_TTL", "5")),
            redis_url=_env("REDIS_URL", ""),
            verifier=verifier,
            trusted_proxies=tuple(
                item.strip() for item in _env("TRUSTED_PROXIES", "127.0.0.1,::1").split(",") if item.strip()
            ),
            login_max_failures_per_account=int(_env("LOGIN_MAX_FAILURES_PER_ACCOUNT", "5")),
            login_max_failures_per_address=int(_env("LOGIN_MAX_FAILURES_PER_ADDRESS", "20")),
            login_lockout_seconds=int(_env("LOGIN_LOCKOUT_SECONDS", "900")),
            document_cache_size=int(_env("DOCUMENT_CACHE_SIZE", "1024")),
            public_passport_cache_size=int(_env("PUBLIC_PASSPORT_CACHE_SIZE", "20000")),
            public_passport_cache_ttl=float(_env("PUBLIC_PASSPORT_CACHE_TTL", "300")),
            subscription_queue_size=int(_env("SUBSCRIPTION_QUEUE_SIZE", "100")),
            events_stream_maxlen=int(_env("EVENTS_STREAM_MAXLEN", "10000")),
            subscription_auth_recheck=float(_env("SUBSCRIPTION_AUTH_RECHECK", "5")),
        )

    @property
    def is_development(self) -> bool:
        """True in development mode (the only mode a development key or secret is allowed in)."""
        return self.environment == DEVELOPMENT

    @property
    def is_sqlite(self) -> bool:
        """True on the embedded default."""
        return self.database_url.startswith("sqlite")


def _log_format(value: str) -> str:
    """``LOG_FORMAT``: text or json."""
    log_format = value.strip().lower()
    if log_format not in ("text", "json"):
        raise ValueError(f"LOG_FORMAT: must be text or json, not {value!r}")
    return log_format
