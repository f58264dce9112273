"""Catalog tables: the platform-wide category taxonomy, tenants' products and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

from subgraphs.common.audit import AuditEntryBase
from subgraphs.common.ids import new_id, utcnow
from subgraphs.common.models import TenantOwned


class Category(SQLModel, table=True):
    """A node of the platform-wide taxonomy. Not tenant-owned: every caller may read it.

    ``max_products`` caps the products *each tenant* may keep in the category
    (``None`` means no cap).
    """

    __tablename__ = "catalog_categories"
    __table_args__ = (sa.UniqueConstraint("name", name="uq_catalog_categories_name"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=26)
    name: str = Field(max_length=120)
    description: str = Field(default="", max_length=2000)
    product_type: str = Field(max_length=60)
    is_active: bool = Field(default=True)
    max_products: int | None = Field(default=None)
    parent_id: str | None = Field(default=None, foreign_key="catalog_categories.id", max_length=26, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True), nullable=False)


# Declared ahead so that the mapper can name it as the version counter.
_VERSION_COLUMN = sa.Column("version", sa.Integer, nullable=False)


class Product(TenantOwned, table=True):
    """A tenant's product in one category.

    ``version`` is SQLAlchemy's version counter: it starts at 1 and every UPDATE
    increments it with ``WHERE version = <loaded version>``, so a concurrent
    change that slipped past the domain's version check still fails instead of
    being overwritten.
    """

    __tablename__ = "catalog_products"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "category_id", "name", name="uq_catalog_products_name"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=26)
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    sku: str = Field(max_length=64)
    category_id: str = Field(foreign_key="catalog_categories.id", max_length=26, index=True)
    is_enabled: bool = Field(default=True)
    is_featured: bool = Field(default=False)
    # ``metadata`` is taken by SQLModel (the table metadata), so the attribute is
    # ``attributes`` while the column keeps the domain's name.
    attributes: Any = Field(
        default=None,
        sa_column=sa.Column("metadata", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
    )
    version: int = Field(default=1, sa_column=_VERSION_COLUMN)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True), nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True), nullable=False)

    __mapper_args__ = {"version_id_col": _VERSION_COLUMN}


class AuditEntry(AuditEntryBase, table=True):
    """The catalog's audit trail (one row per mutation, successful or not)."""

    __tablename__ = "catalog_audit_log"
