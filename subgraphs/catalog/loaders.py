"""Per-request dataloaders of the catalog: one batched query per relation or entity type.

Products and categories are loaded as plain rows (no ORM objects: these reads change nothing)
and handed out as their GraphQL objects, built once per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from aiodataloader import DataLoader
from sqlmodel import col

from subgraphs.catalog import schema_types
from subgraphs.catalog.models import Category, Product
from subgraphs.common.context import RequestContext
from subgraphs.common.loaders import KEYS, ObjectLoader, columns_of, counts_grouped_by, keyed_select, objects_by_column

_CATEGORY = "joined_category__"  # label prefix of the category columns read along with products
_CATEGORY_FIELDS = tuple((column.key, _CATEGORY + column.key) for column in columns_of(Category))
# Built once (see keyed_select): categories by id, and products by id with their category.
_CATEGORIES = keyed_select(Category, col(Category.id))
_PRODUCTS = (
    sa.select(*columns_of(Product), *(column.label(_CATEGORY + column.key) for column in columns_of(Category)))
    .join(Category, col(Category.id) == col(Product.category_id))
    .where(col(Product.id).in_(sa.bindparam(KEYS, expanding=True)))
)


def category_by_id(ctx: RequestContext) -> ObjectLoader:
    """``Category`` objects by id (the taxonomy is public: no tenant filter applies)."""
    return ctx.loader(  # type: ignore[no-any-return]
        "catalog.category_by_id",
        lambda: objects_by_column(ctx.session, _CATEGORIES, "id", schema_types.Category.from_row),
    )


def product_by_id(ctx: RequestContext) -> ObjectLoader:
    """The caller's ``Product`` objects by id (tenant-scoped by the session).

    Each product's category comes in the same statement (a join: every product has one) and is
    handed to :func:`category_by_id`, so ``product { category { ... } }`` costs one statement, and
    each product's ``category`` resolves at once instead of waiting for a second batch.
    """

    def factory() -> ObjectLoader:
        categories = category_by_id(ctx)

        async def fetch(keys: Sequence[str]) -> dict[str, Any]:
            found: dict[str, Any] = {}
            for row in (await ctx.session.execute(_PRODUCTS, {KEYS: list(keys)})).all():
                found[row.id] = schema_types.Product.from_row(row)
                if row.category_id not in categories.answered:
                    fields = row._mapping
                    category = schema_types.Category.from_values(
                        {key: fields[label] for key, label in _CATEGORY_FIELDS}
                    )
                    categories.answer(row.category_id, category)
            return found

        return ObjectLoader(fetch)

    return ctx.loader("catalog.product_by_id", factory)  # type: ignore[no-any-return]


def product_count_by_category(ctx: RequestContext) -> DataLoader:
    """How many products the caller's tenant keeps in each category (tenant-scoped)."""
    return ctx.loader(  # type: ignore[no-any-return]
        "catalog.product_count_by_category",
        lambda: counts_grouped_by(ctx.session, Product, Product.category_id),
    )
