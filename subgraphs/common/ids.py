"""Identifiers: ULIDs for new rows, deterministic ULID-shaped ids for demo data."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from ulid import ULID

# A fixed instant so that demo ids sort together and never change between runs.
_DEMO_EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def new_id() -> str:
    """A new ULID as its 26-character Crockford base32 string."""
    return str(ULID())


def stable_id(*parts: str) -> str:
    """A ULID-shaped id derived from ``parts``: the same parts always give the same id.

    Used by the seeders so that each subgraph can name rows another subgraph owns
    (a passport's product, a template's category) without asking for them.
    """
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return str(ULID.from_bytes(_DEMO_EPOCH_MS.to_bytes(6, "big") + digest[:10]))


def utcnow() -> datetime:
    """Timezone-aware now; stored as UTC."""
    return datetime.now(UTC)
