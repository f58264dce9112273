"""Column mixins shared by the subgraphs' SQLModel tables."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

from subgraphs.common.ids import new_id, utcnow


class TenantOwned(SQLModel):
    """A row that belongs to one tenant.

    Every query of a subclass is filtered to the caller's tenant by
    :mod:`subgraphs.common.tenancy`; resolvers never add the filter themselves.
    """

    tenant_id: str = Field(index=True, max_length=26)


def id_field() -> str:
    """A ULID primary key column."""
    return Field(default_factory=new_id, primary_key=True, max_length=26)


def created_at_field() -> datetime:
    """A non-null, timezone-aware creation timestamp."""
    return Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True), nullable=False)


def json_field(nullable: bool = False) -> object:
    """A JSON column (JSONB on PostgreSQL, TEXT on SQLite)."""
    return Field(
        default=None,
        sa_type=sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
        nullable=nullable,
    )
