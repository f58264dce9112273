"""row-level security on passport's tenant tables (PostgreSQL)

Revision ID: passport_0002
Revises: passport_0001
Create Date: 2026-12-06

Passports, their versions and the audit log carry a tenant. On PostgreSQL each gets the policies of
:mod:`subgraphs.common.rls`; no-op on SQLite.
"""

from collections.abc import Sequence

from alembic import op

from subgraphs.common.rls import disable_tenant_rls, enable_tenant_rls

revision: str = "passport_0002"
down_revision: str | None = "passport_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("passport_passports", "passport_versions")
AUDIT_TABLE = "passport_audit_log"


def upgrade() -> None:
    for table in TENANT_TABLES:
        enable_tenant_rls(op, table)
    enable_tenant_rls(op, AUDIT_TABLE, allow_untenanted_insert=True)


def downgrade() -> None:
    for table in (*TENANT_TABLES, AUDIT_TABLE):
        disable_tenant_rls(op, table)
