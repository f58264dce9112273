"""row-level security on the templates subgraph's tenant tables (PostgreSQL)

Revision ID: templates_0002
Revises: ba39cedbf084
Create Date: 2026-12-06

Enablements and the audit log carry a tenant (templates and fields are
platform-wide). On PostgreSQL each gets the policies of :mod:`subgraphs.common.rls`; no-op on SQLite.
"""

from collections.abc import Sequence

from alembic import op

from subgraphs.common.rls import disable_tenant_rls, enable_tenant_rls

revision: str = "templates_0002"
down_revision: str | None = "ba39cedbf084"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("templates_enablements",)
AUDIT_TABLE = "templates_audit_log"


def upgrade() -> None:
    for table in TENANT_TABLES:
        enable_tenant_rls(op, table)
    enable_tenant_rls(op, AUDIT_TABLE, allow_untenanted_insert=True)


def downgrade() -> None:
    for table in (*TENANT_TABLES, AUDIT_TABLE):
        disable_tenant_rls(op, table)
