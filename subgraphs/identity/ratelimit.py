"""Login protection: failed sign-ins counted per account and per client address, in the database.

Counting in identity's database (not in memory) makes every identity replica see
the same numbers. The account key is the email string as typed (lower case),
whether or not such an account exists, and the refusal is the same either way,
so the limit does not reveal which emails have accounts.

A key is locked while it has at least ``limit`` failures in the last ``window``
seconds; the refusal says when the oldest of them leaves the window. Attempts
refused while locked are not counted (a lock ends on time). A successful sign-in
clears the account's failures (not the address's).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import col

from subgraphs.common.db import Database
from subgraphs.common.errors import DomainError
from subgraphs.common.ids import utcnow
from subgraphs.identity.models import LoginFailure
from subgraphs.identity.sessions import aware

UNKNOWN_ADDRESS = "unknown"


class RateLimited(DomainError):
    """Too many attempts; ``extensions.retryAfter`` says how many seconds to wait."""

    code = "RATE_LIMITED"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many sign-in attempts; try again in {retry_after} seconds", retryAfter=retry_after)
        self.retry_after = retry_after


def client_address(peer: str | None, headers: Mapping[str, str], trusted: Sequence[str]) -> str:
    """The client address: the first ``X-Forwarded-For`` hop if the direct peer is a trusted proxy, else the peer."""
    if peer is None:
        return UNKNOWN_ADDRESS
    forwarded = headers.get("x-forwarded-for")
    if forwarded and _is_trusted(peer, trusted):
        first = forwarded.split(",")[0].strip()
        try:
            return str(ipaddress.ip_address(first))
        except ValueError:
            return peer
    return peer


def _is_trusted(peer: str, trusted: Sequence[str]) -> bool:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    for item in trusted:
        try:
            if address in ipaddress.ip_network(item, strict=False):
                return True
        except ValueError:
            continue
    return False


@dataclass(frozen=True, slots=True)
class LoginGuard:
    """Checks and records sign-in failures for one identity database."""

    database: Database
    per_account: int
    per_address: int
    window: int

    @classmethod
    def from_settings(cls, database: Database, settings: object) -> LoginGuard:
        """The guard configured by ``LOGIN_MAX_FAILURES_PER_*`` and ``LOGIN_LOCKOUT_SECONDS``."""
        return cls(
            database=database,
            per_account=int(getattr(settings, "login_max_failures_per_account", 5)),
            per_address=int(getattr(settings, "login_max_failures_per_address", 20)),
            window=int(getattr(settings, "login_lockout_seconds", 900)),
        )

    def _keys(self, email: str, address: str) -> list[tuple[str, int]]:
        keys = [(f"account:{email.strip().lower()}"[:300], self.per_account)]
        # Without a known address there is no per-address limit: one shared "unknown" bucket would let
        # anyone lock every client out.
        if address != UNKNOWN_ADDRESS:
            keys.append((f"address:{address}", self.per_address))
        return keys

    async def check(self, email: str, address: str) -> None:
        """``RateLimited`` when the account or the address is locked now."""
        now = utcnow()
        since = now - timedelta(seconds=self.window)
        wait = 0.0
        async with self.database.system_session() as db:
            for key, limit in self._keys(email, address):
                stmt = (
                    sa.select(col(LoginFailure.created_at))
                    .where(col(LoginFailure.key) == key, col(LoginFailure.created_at) > since)
                    .order_by(col(LoginFailure.created_at).desc())
                    .limit(limit)
                )
                times = list((await db.exec(stmt)).scalars().all())  # type: ignore[call-overload]
                if len(times) >= limit:
                    wait = max(wait, (aware(times[-1]) + timedelta(seconds=self.window) - now).total_seconds())
        if wait > 0:
            raise RateLimited(max(1, math.ceil(wait)))

    async def failed(self, email: str, address: str) -> None:
        """Count a failed attempt against the account and the address (and forget expired ones)."""
        now = utcnow()
        since = now - timedelta(seconds=self.window)
        async with self.database.system_session() as db:
            for key, _ in self._keys(email, address):
                db.add(LoginFailure(key=key, created_at=now))
                await db.exec(  # type: ignore[call-overload]
                    sa.delete(LoginFailure).where(col(LoginFailure.key) == key, col(LoginFailure.created_at) <= since)
                )

    async def succeeded(self, email: str) -> None:
        """Forget the account's failures after a successful sign-in."""
        key = self._keys(email, UNKNOWN_ADDRESS)[0][0]
        async with self.database.system_session() as db:
            await db.exec(sa.delete(LoginFailure).where(col(LoginFailure.key) == key))  # type: ignore[call-overload]
