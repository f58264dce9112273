"""Per-request dataloaders of the catalog: one batched query per relation or entity type."""

from __future__ import annotations

from aiodataloader import DataLoader

from subgraphs.catalog.models import Category, Product
from subgraphs.common.context import RequestContext
from subgraphs.common.loaders import counts_grouped_by, rows_by_column


def category_by_id(ctx: RequestContext) -> DataLoader:
    """Categories by id (the taxonomy is public: no tenant filter applies)."""
    return ctx.loader("catalog.category_by_id", lambda: rows_by_column(ctx.session, Category, Category.id))


def product_by_id(ctx: RequestContext) -> DataLoader:
    """The caller's products by id (tenant-scoped by the session)."""
    return ctx.loader("catalog.product_by_id", lambda: rows_by_column(ctx.session, Product, Product.id))


def product_count_by_category(ctx: RequestContext) -> DataLoader:
    """How many products the caller's tenant keeps in each category (tenant-scoped)."""
    return ctx.loader(
        "catalog.product_count_by_category",
        lambda: counts_grouped_by(ctx.session, Product, Product.category_id),
    )
