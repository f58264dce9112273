"""identity_pending_invitations: invitations of existing accounts, granted when their owner accepts

Revision ID: identity_0005
Revises: identity_0004
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from subgraphs.common.rls import enable_tenant_rls

revision: str = "identity_0005"
down_revision: str | None = "identity_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "identity_pending_invitations"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("tenant_id", sa.String(length=26), nullable=False),
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("role_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["identity_tenants.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["identity_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "user_id", name="uq_identity_pending_invitations_user"),
    )
    op.create_index("ix_identity_pending_invitations_tenant_id", TABLE, ["tenant_id"])
    op.create_index("ix_identity_pending_invitations_user_id", TABLE, ["user_id"])
    enable_tenant_rls(op, TABLE)


def downgrade() -> None:
    op.drop_table(TABLE)
