"""sessions and refresh-token families, single-use invitations, login failures, Casbin policy rules

Revision ID: identity_0003
Revises: identity_0002
Create Date: 2026-12-06

Written by hand so that it is valid on SQLite and PostgreSQL alike. The policy
rules are tenant-owned (row-level security through ``subgraphs.common.rls``); the
other tables belong to no tenant (their tenant columns are named apart from
``tenant_id`` on purpose) and are read by identity itself.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from subgraphs.common.rls import enable_tenant_rls

revision: str = "identity_0003"
down_revision: str | None = "identity_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "identity_sessions",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("chosen_tenant_id", sa.String(length=26), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ, nullable=True),
        sa.Column("revoked_reason", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["identity_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_identity_sessions_user_id", "identity_sessions", ["user_id"])

    op.create_table(
        "identity_refresh_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=26), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("used_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["identity_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_identity_refresh_tokens_session_id", "identity_refresh_tokens", ["session_id"])

    op.create_table(
        "identity_invitations",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("inviting_tenant_id", sa.String(length=26), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["identity_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_identity_invitations_user_id", "identity_invitations", ["user_id"])

    op.create_table(
        "identity_login_failures",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_identity_login_failures_key_at", "identity_login_failures", ["key", "created_at"])

    op.create_table(
        "identity_policy_rules",
        sa.Column("tenant_id", sa.String(length=26), nullable=False),
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("ptype", sa.String(length=8), nullable=False),
        sa.Column("role", sa.String(length=60), nullable=False),
        sa.Column("object", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["identity_tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "role", "object", "action", name="uq_identity_policy_rules_rule"),
    )
    op.create_index("ix_identity_policy_rules_tenant_id", "identity_policy_rules", ["tenant_id"])
    # Every existing tenant gets the default policy (Admin may do everything), written before RLS is on.
    op.execute(
        "INSERT INTO identity_policy_rules (tenant_id, id, ptype, role, object, action, created_at) "
        "SELECT id, substr(id, 1, 24) || 'PA', 'p', 'Admin', '*', '*', created_at FROM identity_tenants"
    )
    enable_tenant_rls(op, "identity_policy_rules")


def downgrade() -> None:
    op.drop_table("identity_policy_rules")
    op.drop_table("identity_login_failures")
    op.drop_table("identity_invitations")
    op.drop_table("identity_refresh_tokens")
    op.drop_table("identity_sessions")

