"""Persistence of the identity subgraph: queries and writes through the request's session.

Memberships, roles and grants are tenant-owned, so the request's session sees only
those of the caller's active tenant. Two things in identity read or write across
tenants by nature, and each says so where it happens:

* :func:`memberships_of_users` reads the memberships of *one's own* user in every
  tenant (to sign in, to list the tenants one may switch to). It uses a short-lived
  unrestricted session filtered by user id, never the request's session, so no
  concurrent resolver can observe a lifted scope.
* :meth:`IdentityRepository.flush_as` flushes the rows of a tenant being onboarded
  by a platform administrator under that tenant's scope.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from subgraphs.common.db import Database
from subgraphs.common.tenancy import SCOPE_KEY, SYSTEM, Scope
from subgraphs.common.writes import flush_or_conflict, rule_lock
from subgraphs.identity.models import AuditEntry, Membership, PendingInvitation, Role, RoleGrant, Tenant, User


@dataclass(frozen=True, slots=True)
class RoleRow:
    """A role as read together with a membership."""

    id: str
    tenant_id: str
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class MembershipRow:
    """A user's membership of one tenant with the roles held there."""

    id: str
    tenant_id: str
    user_id: str
    created_at: datetime
    roles: tuple[RoleRow, ...]

    @property
    def role_names(self) -> tuple[str, ...]:
        """The names of the roles held, sorted."""
        return tuple(sorted(role.name for role in self.roles))


def _role_row(role: Role) -> RoleRow:
    return RoleRow(id=role.id, tenant_id=role.tenant_id, name=role.name, description=role.description)


async def memberships_of_users(database: Database, user_ids: Sequence[str]) -> dict[str, list[MembershipRow]]:
    """Every membership (with roles) of each of ``user_ids``, in all tenants, oldest first.

    Only for a user's own memberships (the caller's, or the user signing in): a
    user may see which tenants they belong to and what they may do there.
    """
    stmt = (
        sa.select(Membership, Role)
        .outerjoin(RoleGrant, col(RoleGrant.membership_id) == col(Membership.id))
        .outerjoin(Role, col(Role.id) == col(RoleGrant.role_id))
        .where(col(Membership.user_id).in_(list(dict.fromkeys(user_ids))))
        .order_by(col(Membership.created_at), col(Membership.id), col(Role.name))
    )
    async with database.session(SYSTEM) as session:
        rows = (await session.exec(stmt)).all()  # type: ignore[call-overload]
    roles: dict[str, list[RoleRow]] = defaultdict(list)
    memberships: dict[str, Membership] = {}
    for membership, role in rows:
        memberships.setdefault(membership.id, membership)
        if role is not None:
            roles[membership.id].append(_role_row(role))
    result: dict[str, list[MembershipRow]] = defaultdict(list)
    for membership in memberships.values():
        result[membership.user_id].append(
            MembershipRow(
                id=membership.id,
                tenant_id=membership.tenant_id,
                user_id=membership.user_id,
                created_at=membership.created_at,
                roles=tuple(roles[membership.id]),
            )
        )
    return result


async def roles_of_members(session: AsyncSession, user_ids: Sequence[str]) -> dict[str, list[RoleRow]]:
    """The roles each user holds in the session's tenant (tenant scoping filters all three tables)."""
    stmt = (
        sa.select(col(Membership.user_id), Role)
        .join(RoleGrant, col(RoleGrant.membership_id) == col(Membership.id))
        .join(Role, col(Role.id) == col(RoleGrant.role_id))
        .where(col(Membership.user_id).in_(list(dict.fromkeys(user_ids))))
        .order_by(col(Role.name))
    )
    rows = (await session.exec(stmt)).all()  # type: ignore[call-overload]
    result: dict[str, list[RoleRow]] = defaultdict(list)
    for user_id, role in rows:
        result[user_id].append(_role_row(role))
    return result


class IdentityRepository:
    """Reads and writes of the identity tables through one (tenant-scoped) session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- tenants ---------------------------------------------------------------------------

    async def tenant(self, tenant_id: str, *, for_update: bool = False) -> Tenant | None:
        """The tenant with ``tenant_id`` (tenants are not tenant-owned: visibility is decided above).

        ``for_update`` reads it afresh and locks it until commit on PostgreSQL (SQLite: the mutation's
        write lock), so a status transition is checked against the status it replaces.
        """
        if for_update:
            return await self.session.get(Tenant, tenant_id, with_for_update=True, populate_existing=True)
        return await self.session.get(Tenant, tenant_id)

    async def tenants(self, tenant_ids: Sequence[str]) -> list[Tenant]:
        """The tenants among ``tenant_ids`` that exist."""
        if not tenant_ids:
            return []
        stmt = sa.select(Tenant).where(col(Tenant.id).in_(list(tenant_ids)))
        return list((await self.session.exec(stmt)).scalars().all())  # type: ignore[call-overload]

    async def tenant_by_domain(self, domain: str) -> Tenant | None:
        """The tenant whose (lower-case) domain is ``domain``."""
        stmt = sa.select(Tenant).where(col(Tenant.domain) == domain)
        return (await self.session.exec(stmt)).scalars().first()  # type: ignore[call-overload]

    async def list_tenants(
        self, *, offset: int, limit: int, status: str | None = None, type_: str | None = None
    ) -> tuple[list[Tenant], int]:
        """A page of all tenants by name, and the total matching the filters."""
        where = []
        if status is not None:
            where.append(col(Tenant.status) == status)
        if type_ is not None:
            where.append(col(Tenant.type) == type_)
        total = (await self.session.exec(sa.select(sa.func.count()).select_from(Tenant).where(*where))).one()[0]  # type: ignore[call-overload]
        stmt = sa.select(Tenant).where(*where).order_by(col(Tenant.name), col(Tenant.id)).offset(offset).limit(limit)
        rows = (await self.session.exec(stmt)).scalars().all()  # type: ignore[call-overload]
        return list(rows), int(total)

    # -- users -----------------------------------------------------------------------------

    async def user(self, user_id: str, *, for_update: bool = False) -> User | None:
        """The user with ``user_id`` (``for_update``: read afresh and locked until commit, as for tenants)."""
        if for_update:
            return await self.session.get(User, user_id, with_for_update=True, populate_existing=True)
        return await self.session.get(User, user_id)

    async def lock(self, rule: str, *scope: str) -> None:
        """Serialise a check-then-write rule for ``scope`` until commit (:func:`subgraphs.common.writes.rule_lock`)."""
        await rule_lock(self.session, rule, *scope)

    async def user_by_email(self, email: str) -> User | None:
        """The user whose (lower-case) email is ``email``."""
        stmt = sa.select(User).where(col(User.email) == email)
        return (await self.session.exec(stmt)).scalars().first()  # type: ignore[call-overload]

    async def user_by_username(self, username: str) -> User | None:
        """The user named ``username``."""
        stmt = sa.select(User).where(col(User.username) == username)
        return (await self.session.exec(stmt)).scalars().first()  # type: ignore[call-overload]

    async def list_members(self, *, offset: int, limit: int) -> tuple[list[User], int]:
        """A page of the users who belong to the session's tenant, by name, and their total."""
        total = (await self.session.exec(sa.select(sa.func.count()).select_from(Membership))).one()[0]  # type: ignore[call-overload]
        stmt = (
            sa.select(User)
            .join(Membership, col(Membership.user_id) == col(User.id))
            .order_by(col(User.name), col(User.id))
            .offset(offset)
            .limit(limit)
        )
        rows = (await self.session.exec(stmt)).scalars().all()  # type: ignore[call-overload]
        return list(rows), int(total)

    # -- memberships and roles (of the session's tenant) -------------------------------------

    async def membership(self, user_id: str) -> Membership | None:
        """The membership of ``user_id`` in the session's tenant."""
        stmt = sa.select(Membership).where(col(Membership.user_id) == user_id)
        return (await self.session.exec(stmt)).scalars().first()  # type: ignore[call-overload]

    async def roles(self) -> list[Role]:
        """The roles of the session's tenant, by name."""
        stmt = sa.select(Role).order_by(col(Role.name))
        return list((await self.session.exec(stmt)).scalars().all())  # type: ignore[call-overload]

    async def grants(self, membership_id: str) -> list[RoleGrant]:
        """The role grants of one membership of the session's tenant."""
        stmt = sa.select(RoleGrant).where(col(RoleGrant.membership_id) == membership_id)
        return list((await self.session.exec(stmt)).scalars().all())  # type: ignore[call-overload]

    async def count_holders(self, role_id: str) -> int:
        """How many members of the session's tenant hold the role ``role_id``."""
        stmt = sa.select(sa.func.count()).select_from(RoleGrant).where(col(RoleGrant.role_id) == role_id)
        return int((await self.session.exec(stmt)).one()[0])  # type: ignore[call-overload]

    # -- audit -----------------------------------------------------------------------------

    async def audit_entries(self, tenant_id: str, *, offset: int, limit: int) -> tuple[list[AuditEntry], int]:
        """A page of the audit entries of ``tenant_id``, newest first.

        Audit entries are not ``TenantOwned`` (a failed anonymous sign-in has no
        tenant), so this one query filters by tenant itself.
        """
        where = col(AuditEntry.tenant_id) == tenant_id
        total = (await self.session.exec(sa.select(sa.func.count()).select_from(AuditEntry).where(where))).one()[0]  # type: ignore[call-overload]
        stmt = (
            sa.select(AuditEntry)
            .where(where)
            .order_by(col(AuditEntry.created_at).desc(), col(AuditEntry.id).desc())
            .offset(offset)
            .limit(limit)
        )
        rows = (await self.session.exec(stmt)).scalars().all()  # type: ignore[call-overload]
        return list(rows), int(total)

    # -- writes ----------------------------------------------------------------------------

    def add(self, *rows: object) -> None:
        """Stage new or changed rows (written at the next flush)."""
        self.session.add_all(list(rows))

    async def delete(self, row: object) -> None:
        """Stage the deletion of ``row``."""
        await self.session.delete(row)

    async def flush(self) -> None:
        """Write staged rows now (inside the mutation's transaction).

        The domain checks uniqueness first for a precise message; a unique
        constraint that still fires means a concurrent request won the race.
        """
        await flush_or_conflict(
            self.session, "a tenant or user with these details was just created by someone else; try again"
        )

    async def pending_invitation(
        self, *, pending_id: str | None = None, user_id: str | None = None
    ) -> PendingInvitation | None:
        """A pending invitation of the session's tenant, by its id or by the invited account."""
        stmt = sa.select(PendingInvitation)
        if pending_id is not None:
            stmt = stmt.where(col(PendingInvitation.id) == pending_id)
        if user_id is not None:
            stmt = stmt.where(col(PendingInvitation.user_id) == user_id)
        return (await self.session.exec(stmt)).scalars().first()  # type: ignore[call-overload]

    @contextlib.asynccontextmanager
    async def acting_for(self, tenant_id: str) -> AsyncIterator[None]:
        """Read and write as ``tenant_id`` for a moment (an invited person joining it, anonymous so far).

        Mutations run one at a time, so nothing else uses the session while the scope is swapped.
        """
        info = self.session.sync_session.info
        previous = info.get(SCOPE_KEY)
        info[SCOPE_KEY] = Scope(tenant_id=tenant_id)
        try:
            yield
        finally:
            if previous is None:
                info.pop(SCOPE_KEY, None)
            else:
                info[SCOPE_KEY] = previous

    async def flush_as(self, tenant_id: str) -> None:
        """Flush staged rows under the scope of ``tenant_id`` (a tenant being onboarded).

        The request's scope is that of the platform administrator's own tenant; the
        new tenant's roles and first membership belong to the new tenant, and the
        scope check at flush still refuses any row of a third tenant. Mutations run
        one at a time, so nothing else uses the session while the scope is swapped.
        """
        info = self.session.sync_session.info
        previous = info.get(SCOPE_KEY)
        info[SCOPE_KEY] = Scope(tenant_id=tenant_id)
        try:
            await self.flush()
        finally:
            if previous is None:
                info.pop(SCOPE_KEY, None)
            else:
                info[SCOPE_KEY] = previous
