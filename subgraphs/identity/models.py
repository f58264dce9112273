"""Tables of the identity subgraph.

Tenants and users are not tenant-owned: a tenant *is* the tenant, and a user may
belong to several. Memberships, roles and role grants belong to one tenant each
and inherit :class:`TenantOwned`, so every ordinary query of them is filtered to
the caller's active tenant by :mod:`subgraphs.common.tenancy`.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from subgraphs.common.audit import AuditEntryBase
from subgraphs.common.models import TenantOwned, created_at_field, id_field


class Tenant(SQLModel, table=True):
    """An organisation using the platform (manufacturer, supplier, retailer ...)."""

    __tablename__ = "identity_tenants"

    id: str = id_field()
    name: str = Field(max_length=200)
    # Stored lower case; unique so that one organisation is onboarded once.
    domain: str = Field(max_length=253, unique=True)
    type: str = Field(max_length=20)  # TenantType value, lower case as in the handbook
    status: str = Field(max_length=20)  # TenantStatus value
    tenant_class: str = Field(max_length=20)  # standard | professional | enterprise
    parent_id: str | None = Field(
        default=None, max_length=26, sa_column_args=[sa.ForeignKey("identity_tenants.id")], index=True
    )
    created_at: datetime = created_at_field()


class User(SQLModel, table=True):
    """A person who signs in; belongs to tenants through memberships."""

    __tablename__ = "identity_users"

    id: str = id_field()
    email: str = Field(max_length=254, unique=True)  # stored lower case
    name: str = Field(max_length=200)
    username: str = Field(max_length=40, unique=True)
    status: str = Field(max_length=20)  # UserStatus value: invited | active
    password_hash: str | None = Field(default=None, max_length=255)
    platform_admin: bool = Field(default=False)
    created_at: datetime = created_at_field()


class Membership(TenantOwned, table=True):
    """A user belonging to a tenant."""

    __tablename__ = "identity_memberships"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "user_id", name="uq_identity_memberships_tenant_user"),)

    # The tenant column of TenantOwned, here also a foreign key: identity owns the tenants table.
    tenant_id: str = Field(max_length=26, foreign_key="identity_tenants.id", index=True)
    id: str = id_field()
    user_id: str = Field(max_length=26, foreign_key="identity_users.id", index=True)
    created_at: datetime = created_at_field()


class Role(TenantOwned, table=True):
    """A named role of one tenant (Admin, Manager and Viewer are created with every tenant)."""

    __tablename__ = "identity_roles"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "name", name="uq_identity_roles_tenant_name"),)

    # The tenant column of TenantOwned, here also a foreign key: identity owns the tenants table.
    tenant_id: str = Field(max_length=26, foreign_key="identity_tenants.id", index=True)
    id: str = id_field()
    name: str = Field(max_length=60)
    description: str = Field(default="", max_length=500)
    created_at: datetime = created_at_field()


class RoleGrant(TenantOwned, table=True):
    """A role held by a membership (same tenant as both)."""

    __tablename__ = "identity_role_grants"
    __table_args__ = (sa.UniqueConstraint("membership_id", "role_id", name="uq_identity_role_grants_membership_role"),)

    id: str = id_field()
    membership_id: str = Field(
        max_length=26, sa_column_args=[sa.ForeignKey("identity_memberships.id", ondelete="CASCADE")], index=True
    )
    role_id: str = Field(
        max_length=26, sa_column_args=[sa.ForeignKey("identity_roles.id", ondelete="CASCADE")], index=True
    )


class AuditEntry(AuditEntryBase, table=True):
    """The identity subgraph's audit trail."""

    __tablename__ = "identity_audit_log"


class Session(SQLModel, table=True):
    """A sign-in session, also the refresh-token family: ``sid`` of its access tokens.

    Not tenant-owned: the tenant is the one chosen at sign-in (or none), and the
    context check reads a session by id whatever tenant the request acts in.
    """

    __tablename__ = "identity_sessions"

    id: str = id_field()
    user_id: str = Field(
        max_length=26, sa_column_args=[sa.ForeignKey("identity_users.id", ondelete="CASCADE")], index=True
    )
    # Named apart from ``tenant_id``: a session is no tenant's row (no row-level security applies).
    chosen_tenant_id: str | None = Field(default=None, max_length=26)
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True), nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True), nullable=True)
    # logout | logout_everywhere | refresh_reuse | ...
    revoked_reason: str | None = Field(default=None, max_length=40)


class RefreshToken(SQLModel, table=True):
    """One refresh token of a session, stored as its sha256; ``used_at`` is set when it is exchanged.

    The session's current token is its one unused row; presenting a used one is reuse.
    """

    __tablename__ = "identity_refresh_tokens"

    token_hash: str = Field(primary_key=True, max_length=64)
    session_id: str = Field(
        max_length=26, sa_column_args=[sa.ForeignKey("identity_sessions.id", ondelete="CASCADE")], index=True
    )
    created_at: datetime = created_at_field()
    used_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True), nullable=True)


class InvitationToken(SQLModel, table=True):
    """A single-use invitation, stored as the sha256 of the opaque token handed to the invited person."""

    __tablename__ = "identity_invitations"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(
        max_length=26, sa_column_args=[sa.ForeignKey("identity_users.id", ondelete="CASCADE")], index=True
    )
    inviting_tenant_id: str = Field(max_length=26)
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True), nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True), nullable=True)


class LoginFailure(SQLModel, table=True):
    """A failed sign-in, counted per key (``account:<email>`` or ``address:<ip>``) by every replica."""

    __tablename__ = "identity_login_failures"
    __table_args__ = (sa.Index("ix_identity_login_failures_key_at", "key", "created_at"),)

    id: str = id_field()
    key: str = Field(max_length=300)
    created_at: datetime = created_at_field()


class PolicyRule(TenantOwned, table=True):
    """A Casbin ``p`` rule of one tenant: ``p, <role>, <tenant>, <object>, <action>`` (the tenant is the domain)."""

    __tablename__ = "identity_policy_rules"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "role", "object", "action", name="uq_identity_policy_rules_rule"),
    )

    tenant_id: str = Field(max_length=26, foreign_key="identity_tenants.id", index=True)
    id: str = id_field()
    ptype: str = Field(default="p", max_length=8)
    role: str = Field(max_length=60)
    object: str = Field(max_length=120)
    action: str = Field(max_length=60)
    created_at: datetime = created_at_field()


class PendingInvitation(TenantOwned, table=True):
    """An invitation of an existing account to a tenant, waiting for its owner to accept.

    Inviting the email of someone who already has an account neither makes them a member
    nor shows the inviting tenant anything of the account: the tenant sees the name and
    username it typed, under this row's id, exactly as for a new person; the membership
    and ``role_ids`` are granted when the owner accepts with their own password.
    """

    __tablename__ = "identity_pending_invitations"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "user_id", name="uq_identity_pending_invitations_user"),)

    tenant_id: str = Field(max_length=26, foreign_key="identity_tenants.id", index=True)
    id: str = id_field()
    user_id: str = Field(
        max_length=26, sa_column_args=[sa.ForeignKey("identity_users.id", ondelete="CASCADE")], index=True
    )
    email: str = Field(max_length=254)
    name: str = Field(max_length=200)
    username: str = Field(max_length=40)
    role_ids: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    created_at: datetime = created_at_field()
