"""Settings of persisted operations (APQ, trusted documents) and batching.

Flat setting names are those of :class:`gateway.settings.Settings`; the YAML file groups
them in the sections ``apq``, ``trusted_documents`` and ``batching``. Coercion and range
checks live here, next to the meaning of each knob, so the settings module only routes names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gateway.settings_kinds import parse_bool, parse_count, parse_number

TRUSTED_MODES = ("off", "log_unknown", "safelist_by_id", "safelist_by_body")


@dataclass(frozen=True, slots=True)
class PersistedConfig:
    """What :class:`gateway.persisted.PersistedOperations` may do."""

    apq_enabled: bool = True
    apq_max_entries: int = 1000  # in-memory store: queries kept (least recently used leave first) ...
    apq_max_bytes: int = 8_388_608  # ... and their UTF-8 bytes
    apq_ttl: float = 86_400.0  # seconds a query lives in Redis (shared store) after its last registration
    trusted_mode: str = "off"
    trusted_manifest: Path | None = None
    trusted_poll_interval: float = 2.0  # seconds between manifest file checks (0: load once)
    trusted_bypass: bool = False  # development only: refusals are logged, the operation runs
    batching_enabled: bool = False
    batching_max_size: int = 10
    redis_url: str | None = None


class _Settings(Protocol):
    @property
    def apq_enabled(self) -> bool: ...
    @property
    def apq_max_entries(self) -> int: ...
    @property
    def apq_max_bytes(self) -> int: ...
    @property
    def apq_ttl(self) -> float: ...
    @property
    def trusted_documents_mode(self) -> str: ...
    @property
    def trusted_documents_manifest(self) -> Path | None: ...
    @property
    def trusted_documents_poll_interval(self) -> float: ...
    @property
    def trusted_documents_bypass(self) -> bool: ...
    @property
    def batching_enabled(self) -> bool: ...
    @property
    def batching_max_size(self) -> int: ...
    @property
    def redis_url(self) -> str | None: ...
    @property
    def development(self) -> bool: ...


def persisted_from_settings(settings: _Settings) -> PersistedConfig:
    """The persisted-operations configuration of a gateway's settings."""
    return PersistedConfig(
        apq_enabled=settings.apq_enabled,
        apq_max_entries=settings.apq_max_entries,
        apq_max_bytes=settings.apq_max_bytes,
        apq_ttl=settings.apq_ttl,
        trusted_mode=settings.trusted_documents_mode,
        trusted_manifest=settings.trusted_documents_manifest,
        trusted_poll_interval=settings.trusted_documents_poll_interval,
        trusted_bypass=settings.trusted_documents_bypass and settings.development,
        batching_enabled=settings.batching_enabled,
        batching_max_size=settings.batching_max_size,
        redis_url=settings.redis_url,
    )


_BOOL = "bool"
_COUNT = "count"
_SECONDS = "seconds"
PERSISTED_SETTINGS: dict[str, str] = {
    "apq_enabled": _BOOL,
    "apq_max_entries": _COUNT,
    "apq_max_bytes": _COUNT,
    "apq_ttl": _SECONDS,
    "trusted_documents_mode": "mode",
    "trusted_documents_manifest": "path",
    "trusted_documents_poll_interval": _SECONDS,
    "trusted_documents_bypass": _BOOL,
    "batching_enabled": _BOOL,
    "batching_max_size": _COUNT,
}
PERSISTED_SECTIONS = (("apq", "apq_"), ("trusted_documents", "trusted_documents_"), ("batching", "batching_"))
# Flat name -> the YAML key a user writes (error messages name that one).
PERSISTED_KEYS = {
    name: f"{section}.{name[len(prefix) :]}"
    for name in PERSISTED_SETTINGS
    for section, prefix in PERSISTED_SECTIONS
    if name.startswith(prefix)
}
PERSISTED_ENV = {f"GATEWAY_{name.upper()}": name for name in PERSISTED_SETTINGS}


def coerce_persisted(name: str, value: Any) -> Any:
    """``value`` as the type of setting ``name``; ValueError when it cannot be."""
    kind = PERSISTED_SETTINGS[name]
    if kind == _BOOL:
        return parse_bool(value)
    if kind == _COUNT:
        return parse_count(value)
    if kind == _SECONDS:
        return parse_number(value)
    if kind == "path":
        return None if value in (None, "") else Path(value)
    mode = str(value).strip().lower()
    if mode not in TRUSTED_MODES:
        raise ValueError(value)
    return mode


def check_persisted(settings: _Settings) -> str | None:
    """A message naming the first unusable setting, or None."""
    for name, kind in PERSISTED_SETTINGS.items():
        if kind in (_COUNT, _SECONDS) and getattr(settings, name) < 0:
            return f"{PERSISTED_KEYS[name]}: must not be negative"
    if settings.apq_max_entries < 1 or settings.apq_max_bytes < 1:
        return "apq.max_entries and apq.max_bytes: must be positive"
    if settings.batching_max_size < 1:
        return "batching.max_size: must be positive"
    if settings.trusted_documents_mode != "off" and settings.trusted_documents_manifest is None:
        return f"trusted_documents.manifest: required in mode {settings.trusted_documents_mode}"
    if settings.trusted_documents_bypass and not settings.development:
        return "trusted_documents.bypass: only allowed with development: true"
    return None
