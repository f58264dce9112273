"""Idempotent demo data: the category taxonomy and the demo tenants' products."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from subgraphs.catalog.models import Category, Product
from subgraphs.common import demo
from subgraphs.common.db import Database
from subgraphs.common.ids import stable_id
from subgraphs.common.settings import Settings

# Fixed timestamps keep the demo's created/updated order the same on every run.
_SEED_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


async def seed(database: Database, settings: Settings) -> None:
    """Insert the demo categories and products whose ids are not there yet."""
    async with database.system_session() as session:
        existing = set((await session.exec(select(col(Category.id)))).all())
        # Parents come first in demo.CATEGORIES, and the foreign key wants them first.
        for category in demo.CATEGORIES:
            if category.id in existing:
                continue
            session.add(
                Category(
                    id=category.id,
                    name=category.name,
                    description=category.description,
                    product_type=category.product_type,
                    is_active=category.is_active,
                    max_products=category.max_products,
                    parent_id=stable_id("category", category.parent_key) if category.parent_key else None,
                    created_at=_SEED_EPOCH,
                )
            )
        await session.flush()

        existing = set((await session.exec(select(col(Product.id)))).all())
        for position, product in enumerate(demo.PRODUCTS):
            if product.id in existing:
                continue
            stamp = _SEED_EPOCH + timedelta(minutes=position)
            session.add(
                Product(
                    id=product.id,
                    tenant_id=product.tenant_id,
                    name=product.name,
                    description=f"{product.name} ({product.sku})",
                    sku=product.sku,
                    category_id=product.category_id,
                    is_enabled=product.is_enabled,
                    is_featured=product.is_featured,
                    attributes={"line": product.name.rsplit(" ", 1)[0], "demo": True},
                    created_at=stamp,
                    updated_at=stamp,
                )
            )
