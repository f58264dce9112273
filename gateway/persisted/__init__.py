"""Persisted operations: Automatic Persisted Queries (Apollo protocol) and trusted documents (manifest)."""

from gateway.persisted.config import (
    PERSISTED_ENV,
    PERSISTED_KEYS,
    PERSISTED_SECTIONS,
    PERSISTED_SETTINGS,
    PersistedConfig,
    check_persisted,
    coerce_persisted,
    persisted_from_settings,
)
from gateway.persisted.manifest import Manifest, ManifestError, ManifestSource
from gateway.persisted.operations import Incoming, PersistedOperations, PersistedProblem, Resolved, sha256_hex
from gateway.persisted.store import MemoryStore, QueryStore, RedisStore

__all__ = [
    "PERSISTED_ENV",
    "PERSISTED_KEYS",
    "PERSISTED_SECTIONS",
    "PERSISTED_SETTINGS",
    "Incoming",
    "Manifest",
    "ManifestError",
    "ManifestSource",
    "MemoryStore",
    "PersistedConfig",
    "PersistedOperations",
    "PersistedProblem",
    "QueryStore",
    "RedisStore",
    "Resolved",
    "check_persisted",
    "coerce_persisted",
    "persisted_from_settings",
    "sha256_hex",
]
