"""Sign-in sessions (refresh-token families) and single-use invitations, with opaque secrets stored hashed.

A refresh token is a random secret; the database keeps only its sha256. Each
session holds one current (unused) refresh token. Exchanging it marks it used
and stores its successor; presenting a token that was already used means it
leaked (or a client replayed it), so the whole session is revoked, and the
access tokens naming that session (``sid``) fail the context check from then on.

Session writes commit in their own transactions (not the mutation's), so that a
revocation on reuse stays written although the mutation then fails.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from subgraphs.common.db import Database
from subgraphs.common.errors import Unauthenticated
from subgraphs.common.ids import utcnow
from subgraphs.common.tenancy import SYSTEM
from subgraphs.identity.models import InvitationToken, RefreshToken, Session

REFRESH_PREFIX = "rt_"
INVITATION_PREFIX = "inv_"
LOGOUT = "logout"
LOGOUT_EVERYWHERE = "logout_everywhere"
REFRESH_REUSE = "refresh_reuse"
USER_DEACTIVATED = "user_deactivated"
INVALID_REFRESH = "this refresh token is not valid any more; sign in again"
INVALID_INVITATION = "this invitation is not valid (unknown, expired or already used)"


def new_secret(prefix: str) -> str:
    """A fresh opaque secret (256 random bits, URL-safe)."""
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """What the database stores of a secret: its sha256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def aware(moment: datetime) -> datetime:
    """``moment`` in UTC with a time zone (SQLite hands back naive datetimes)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A live session: whose it is, the tenant chosen at sign-in, and the current refresh token."""

    id: str
    user_id: str
    tenant_id: str | None
    refresh_token: str
    expires_at: datetime


class RefreshRefused(Unauthenticated):
    """The refresh token is unknown, expired, revoked or reused (``reused``: the family was just revoked)."""

    def __init__(self, *, reused: bool = False, session_id: str | None = None, user_id: str | None = None) -> None:
        super().__init__(INVALID_REFRESH)
        self.reused = reused
        self.session_id = session_id
        self.user_id = user_id


class SessionStore:
    """Sessions and refresh tokens of one identity database."""

    def __init__(self, database: Database, *, refresh_ttl: int) -> None:
        self.database = database
        self.refresh_ttl = refresh_ttl

    async def open(self, user_id: str, tenant_id: str | None, db: AsyncSession | None = None) -> SessionInfo:
        """A new session with its first refresh token.

        Written into ``db`` (the mutation's session, committed with it) when given, else committed on its own.
        """
        secret = new_secret(REFRESH_PREFIX)
        expires_at = utcnow().replace(microsecond=0) + timedelta(seconds=self.refresh_ttl)
        row = Session(user_id=user_id, chosen_tenant_id=tenant_id, expires_at=expires_at)
        if db is not None:
            await self._add(db, row, secret)
        else:
            async with self.database.system_session() as own:
                await self._add(own, row, secret)
        return SessionInfo(row.id, user_id, tenant_id, secret, expires_at)

    @staticmethod
    async def _add(db: AsyncSession, row: Session, secret: str) -> None:
        # The user's expired sessions (and, by cascade, their spent refresh tokens) are of no use any more.
        await db.exec(  # type: ignore[call-overload]
            sa.delete(Session).where(col(Session.user_id) == row.user_id, col(Session.expires_at) < utcnow())
        )
        db.add(row)
        await db.flush()
        db.add(RefreshToken(token_hash=digest(secret), session_id=row.id))
        await db.flush()

    async def rotate(self, presented: str) -> SessionInfo:
        """Exchange the session's current refresh token for a new one; ``RefreshRefused`` otherwise.

        A used token revokes its session (committed before the refusal is raised).
        """
        now = utcnow()
        reused: Session | None = None
        async with self.database.system_session() as db:
            stmt = (
                sa.select(Session)
                .join(RefreshToken, col(RefreshToken.session_id) == col(Session.id))
                .where(col(RefreshToken.token_hash) == digest(presented))
            )
            session = (await db.exec(stmt)).scalars().first()  # type: ignore[call-overload]
            if session is None or session.revoked_at is not None or aware(session.expires_at) <= now:
                raise RefreshRefused(session_id=session.id if session else None)
            used = await db.exec(  # type: ignore[call-overload]
                sa.update(RefreshToken)
                .where(col(RefreshToken.token_hash) == digest(presented), col(RefreshToken.used_at).is_(None))
                .values(used_at=now)
            )
            if used.rowcount != 1:
                await self._revoke(db, [session.id], REFRESH_REUSE, now)
                reused = session
            else:
                secret = new_secret(REFRESH_PREFIX)
                db.add(RefreshToken(token_hash=digest(secret), session_id=session.id))
        if reused is not None:
            raise RefreshRefused(reused=True, session_id=reused.id, user_id=reused.user_id)
        return SessionInfo(session.id, session.user_id, session.chosen_tenant_id, secret, aware(session.expires_at))

    async def revoke(self, session_id: str, reason: str) -> bool:
        """Revoke one session; False when it was already revoked or does not exist."""
        async with self.database.system_session() as db:
            return await self._revoke(db, [session_id], reason, utcnow()) > 0

    async def revoke_user(self, user_id: str, reason: str) -> int:
        """Revoke every live session of ``user_id``; how many there were."""
        async with self.database.system_session() as db:
            stmt = sa.select(col(Session.id)).where(col(Session.user_id) == user_id, col(Session.revoked_at).is_(None))
            ids = list((await db.exec(stmt)).scalars().all())  # type: ignore[call-overload]
            return await self._revoke(db, ids, reason, utcnow())

    async def is_live(self, session_id: str, user_id: str) -> bool:
        """Whether the session exists, belongs to ``user_id``, is not revoked and has not expired."""
        async with self.database.session(SYSTEM) as db:
            row = await db.get(Session, session_id)
        return (
            row is not None and row.user_id == user_id and row.revoked_at is None and aware(row.expires_at) > utcnow()
        )

    @staticmethod
    async def _revoke(db: AsyncSession, ids: list[str], reason: str, now: datetime) -> int:
        if not ids:
            return 0
        result = await db.exec(  # type: ignore[call-overload]
            sa.update(Session)
            .where(col(Session.id).in_(ids), col(Session.revoked_at).is_(None))
            .values(revoked_at=now, revoked_reason=reason)
        )
        return int(result.rowcount or 0)


# -- invitations (in the mutation's own transaction: a refused acceptance leaves the invitation unused) ----------


async def create_invitation(db: AsyncSession, user_id: str, tenant_id: str, ttl: int) -> tuple[str, datetime]:
    """A new single-use invitation token for ``user_id`` to join ``tenant_id``, and when it expires."""
    secret = new_secret(INVITATION_PREFIX)
    expires_at = utcnow().replace(microsecond=0) + timedelta(seconds=ttl)
    db.add(
        InvitationToken(token_hash=digest(secret), user_id=user_id, inviting_tenant_id=tenant_id, expires_at=expires_at)
    )
    return secret, expires_at


async def consume_invitation(db: AsyncSession, secret: str) -> tuple[str, str]:
    """(user id, tenant id) of an unused, unexpired invitation, which is now used; UNAUTHENTICATED otherwise."""
    now = utcnow()
    row = await db.get(InvitationToken, digest(secret))
    if row is None or row.used_at is not None or aware(row.expires_at) <= now:
        raise Unauthenticated(INVALID_INVITATION)
    used = await db.exec(  # type: ignore[call-overload]
        sa.update(InvitationToken)
        .where(col(InvitationToken.token_hash) == row.token_hash, col(InvitationToken.used_at).is_(None))
        .values(used_at=now)
    )
    if used.rowcount != 1:  # accepted concurrently
        raise Unauthenticated(INVALID_INVITATION)
    return row.user_id, row.inviting_tenant_id
