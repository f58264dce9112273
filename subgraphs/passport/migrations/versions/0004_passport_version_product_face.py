"""passport_versions.product_name and product_category: the product's public face captured at publish time

Revision ID: passport_0004
Revises: passport_0003
Create Date: 2026-12-06

publicPassport shows the product of a published passport to everyone from these columns, without asking
the catalog (whose Product is private to its tenant). Versions published before this revision keep NULL:
their public view has product null. The table is already under row-level security (passport_0002).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "passport_0004"
down_revision: str | None = "passport_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("passport_versions", sa.Column("product_name", sa.String(length=200), nullable=True))
    op.add_column("passport_versions", sa.Column("product_category", sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("passport_versions") as batch:
        batch.drop_column("product_category")
        batch.drop_column("product_name")
