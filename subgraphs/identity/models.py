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
