"""passport_audit_log.correlation_id holds 128 characters (the longest x-request-id the gateway accepts)

Revision ID: passport_0003
Revises: passport_0002
Create Date: 2026-12-06

It held 64, so a client's own request id of 65-128 characters made every mutation fail on PostgreSQL.
"""

from collections.abc import Sequence

from alembic import op

from subgraphs.common.audit import widen_correlation_id

revision: str = "passport_0003"
down_revision: str | None = "passport_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    widen_correlation_id(op, "passport_audit_log", 128)


def downgrade() -> None:
    widen_correlation_id(op, "passport_audit_log", 64)
