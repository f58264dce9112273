"""Catalog persistence: queries and writes through the request's session.

Tenant scoping is not written here: :mod:`subgraphs.common.tenancy` filters
every SELECT of :class:`Product` to the caller's tenant and stamps new rows.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from subgraphs.catalog.models import AuditEntry, Category, Product
from subgraphs.common.loaders import columns_of
from subgraphs.common.writes import rule_lock


class ProductSortField(enum.Enum):
    """Columns a product list can be ordered by."""

    NAME = "name"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"


@dataclass(frozen=True, slots=True)
class ProductQuery:
    """Filters and order of a product list (all optional)."""

    category_id: str | None = None
    is_enabled: bool | None = None
    is_featured: bool | None = None
    search: str | None = None
    sort: ProductSortField = ProductSortField.NAME
    descending: bool = False


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(query: ProductQuery) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if query.category_id is not None:
        conditions.append(col(Product.category_id) == query.category_id)
    if query.is_enabled is not None:
        conditions.append(col(Product.is_enabled) == query.is_enabled)
    if query.is_featured is not None:
        conditions.append(col(Product.is_featured) == query.is_featured)
    if query.search:
        # lower() LIKE lower() behaves the same on SQLite and PostgreSQL (ILIKE is PG-only).
        pattern = f"%{_escape_like(query.search.lower())}%"
        conditions.append(
            sa.or_(
                *(
                    sa.func.lower(column).like(pattern, escape="\\")
                    for column in (col(Product.name), col(Product.sku), sa.func.coalesce(col(Product.description), ""))
                )
            )
        )
    return conditions


class CatalogRepository:
    """Reads and writes of categories and products for one request."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # Categories -------------------------------------------------------------

    async def categories(self, *, active_only: bool = False) -> Sequence[Category]:
        """The taxonomy ordered by name."""
        stmt = sa.select(Category).order_by(col(Category.name))
        if active_only:
            stmt = stmt.where(col(Category.is_active).is_(True))
        return (await self.session.exec(stmt)).scalars().all()  # type: ignore[call-overload]

    async def categories_by_id(self, ids: Iterable[str], *, for_update: bool = False) -> dict[str, Category]:
        """Categories with ``ids``; ``for_update`` locks them on PostgreSQL until commit.

        The lock serialises concurrent writes that check a category's room, so two
        requests cannot both take its last slot (SQLite serialises writers anyway).
        """
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        stmt = sa.select(Category).where(col(Category.id).in_(wanted)).order_by(col(Category.id))
        if for_update:
            stmt = stmt.with_for_update()
        rows = (await self.session.exec(stmt)).scalars().all()  # type: ignore[call-overload]
        return {row.id: row for row in rows}

    # Products ----------------------------------------------------------------

    async def product(self, product_id: str) -> Product | None:
        """The caller's product with ``product_id``, or ``None``."""
        stmt = sa.select(Product).where(col(Product.id) == product_id)
        return (await self.session.exec(stmt)).scalars().one_or_none()  # type: ignore[call-overload]

    async def count_products(self, query: ProductQuery) -> int:
        """How many of the caller's products match ``query``."""
        stmt = sa.select(sa.func.count(col(Product.id))).where(*_conditions(query))
        return int((await self.session.exec(stmt)).scalar_one())  # type: ignore[call-overload]

    async def page_products(self, query: ProductQuery, *, offset: int, limit: int) -> tuple[Sequence[Any], int]:
        """One page of the caller's products matching ``query``, in its order (ties broken by id), and the
        :meth:`count_products` total. The products are plain rows of the model's columns (a listing
        only reads them: no ORM objects, instance state or identity-map entries).

        Two statements, the count first. Not one with ``count(*) OVER ()``: the window makes the
        database build every matching row before the LIMIT (make bench-dpp: the listing and the
        dashboard got slower on 5,000 products per tenant), where a count alone reads the index.
        """
        total = await self.count_products(query)
        if limit <= 0 or offset >= total:
            return [], total
        column = getattr(Product, query.sort.value)
        ids = col(Product.id)
        order = [column.desc(), ids.desc()] if query.descending else [column.asc(), ids.asc()]
        stmt = sa.select(*columns_of(Product)).where(*_conditions(query)).order_by(*order).offset(offset).limit(limit)
        return (await self.session.execute(stmt)).all(), total

    async def product_counts_by_category(self, category_ids: Iterable[str]) -> dict[str, int]:
        """The caller's product count in each of ``category_ids``."""
        wanted = sorted(set(category_ids))
        if not wanted:
            return {}
        stmt = (
            sa.select(col(Product.category_id), sa.func.count(col(Product.id)))
            .where(col(Product.category_id).in_(wanted))
            .group_by(col(Product.category_id))
        )
        return {key: int(count) for key, count in (await self.session.exec(stmt)).all()}  # type: ignore[call-overload]

    async def names_taken(
        self, pairs: Iterable[tuple[str, str]], *, exclude_id: str | None = None
    ) -> set[tuple[str, str]]:
        """Which ``(category_id, name)`` pairs already name one of the caller's products."""
        wanted = set(pairs)
        if not wanted:
            return set()
        stmt = sa.select(col(Product.category_id), col(Product.name)).where(
            col(Product.category_id).in_({c for c, _ in wanted}), col(Product.name).in_({n for _, n in wanted})
        )
        if exclude_id is not None:
            stmt = stmt.where(col(Product.id) != exclude_id)
        found = {(c, n) for c, n in (await self.session.exec(stmt)).all()}  # type: ignore[call-overload]
        return found & wanted

    async def featured_count(self) -> int:
        """How many of the caller's products are featured."""
        stmt = sa.select(sa.func.count(col(Product.id))).where(col(Product.is_featured).is_(True))
        return int((await self.session.exec(stmt)).scalar_one())  # type: ignore[call-overload]

    async def lock_featured(self, tenant_id: str) -> None:
        """Hold the tenant's featured-products limit until commit (see :mod:`subgraphs.common.writes`)."""
        await rule_lock(self.session, "catalog:featured", tenant_id)

    def add(self, *products: Product) -> None:
        """Stage new products (the session stamps the caller's tenant)."""
        self.session.add_all(products)

    async def delete(self, product: Product) -> None:
        """Stage the removal of ``product``."""
        await self.session.delete(product)

    def is_modified(self, product: Product) -> bool:
        """Whether ``product`` has unsaved changes (setting a value to itself is none)."""
        return self.session.is_modified(product)

    async def flush(self) -> None:
        """Send staged writes now (to surface constraint and version failures in the transaction)."""
        await self.session.flush()


class AuditRepository:
    """Reads of the catalog's audit trail."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _where(self, tenant_id: str, object_id: str | None) -> list[sa.ColumnElement[bool]]:
        # Audit rows are not TenantOwned (a failed anonymous attempt has no tenant), so the
        # session's scoping does not apply to them; this is the one explicit tenant filter.
        conditions = [col(AuditEntry.tenant_id) == tenant_id]
        if object_id is not None:
            conditions.append(col(AuditEntry.object_id) == object_id)
        return conditions

    async def count(self, tenant_id: str, object_id: str | None) -> int:
        """How many entries of ``tenant_id`` (about ``object_id``) there are."""
        stmt = sa.select(sa.func.count(col(AuditEntry.id))).where(*self._where(tenant_id, object_id))
        return int((await self.session.exec(stmt)).scalar_one())  # type: ignore[call-overload]

    async def page(self, tenant_id: str, object_id: str | None, *, offset: int, limit: int) -> Sequence[AuditEntry]:
        """Newest first."""
        stmt = (
            sa.select(AuditEntry)
            .where(*self._where(tenant_id, object_id))
            .order_by(col(AuditEntry.created_at).desc(), col(AuditEntry.id).desc())
            .offset(offset)
            .limit(limit)
        )
        return (await self.session.exec(stmt)).scalars().all()  # type: ignore[call-overload]
