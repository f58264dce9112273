"""row-level security on identity's tenant tables (PostgreSQL)

Revision ID: identity_0002
Revises: identity_0001
Create Date: 2026-12-06

Memberships, roles, role grants and the audit log carry a tenant; on PostgreSQL
each gets the policies of :mod:`subgraphs.common.rls`. Tenants and users are not
tenant-owned (a user belongs to several tenants) and stay without. No-op on SQLite.
"""

from collections.abc import Sequence

from alembic import op

from subgraphs.common.rls import disable_tenant_rls, enable_tenant_rls

revision: str = "identity_0002"
down_revision: str | None = "identity_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("identity_memberships", "identity_roles", "identity_role_grants")
AUDIT_TABLE = "identity_audit_log"


def upgrade() -> None:
    for table in TENANT_TABLES:
        enable_tenant_rls(op, table)
    enable_tenant_rls(op, AUDIT_TABLE, allow_untenanted_insert=True)


def downgrade() -> None:
    for table in (*TENANT_TABLES, AUDIT_TABLE):
        disable_tenant_rls(op, table)
