"""The catalog's GraphQL schema: categories, products and their mutations.

Visibility, decided once here:

* Categories are a platform-wide taxonomy: everyone, anonymous callers included,
  may read them.
* Products belong to a tenant and nothing of them is public: ``Product`` is
  ``@authenticated`` (type level), so every field returning it and every field of
  it needs a signed-in caller. Members of the tenant (any role) read them;
  another tenant's product is NOT_FOUND (null through ``_entities``), and an
  anonymous ``_entities`` call resolves no product at all. The public view of a
  published passport carries what the public may read (its PUBLIC fields).
* Changes need the ``catalog:write`` scope (Managers and Admins); featuring a
  product also needs the ``catalog:feature`` policy (Admins by default). The
  directives are the rule; :mod:`subgraphs.common.authz` enforces them here too.

The types are in :mod:`subgraphs.catalog.schema_types`, the inputs in
:mod:`subgraphs.catalog.schema_inputs`, the mutations in :mod:`subgraphs.catalog.schema_mutations`;
this module holds the queries and builds the schema.
"""

from __future__ import annotations

import strawberry

from subgraphs.catalog import domain, loaders
from subgraphs.catalog.repository import AuditRepository, CatalogRepository, ProductQuery, ProductSortField
from subgraphs.catalog.schema_inputs import (
    CatalogSortDirection,
    ProductFilter,
    ProductInput,
    ProductOrder,
    ProductOrderField,
    ProductUpdateInput,
)
from subgraphs.catalog.schema_mutations import WRITE, Mutation
from subgraphs.catalog.schema_types import CatalogAuditEntry, Category, Product, Tenant, request_context
from subgraphs.common.authz import authenticated
from subgraphs.common.caller import ADMIN, VIEWER
from subgraphs.common.context import RequestContext
from subgraphs.common.errors import not_found
from subgraphs.common.graphql import SubgraphSchema, build_schema
from subgraphs.common.pagination import Connection, build_connection, page_size, page_window
from subgraphs.common.tags import internal, partner


def _readable_products(ctx: RequestContext) -> CatalogRepository:
    # Anonymous callers are turned away by @authenticated (subgraphs.common.authz); a
    # signed-in caller still needs a role in an active tenant.
    ctx.caller.require_role(VIEWER)
    return CatalogRepository(ctx.session)


@strawberry.type
class Query:
    """Catalog reads."""

    @strawberry.field(directives=partner(), description="The taxonomy, ordered by name. Public.")
    async def categories(self, info: strawberry.Info, active_only: bool = False) -> list[Category]:
        """All categories (or only the active ones)."""
        rows = await CatalogRepository(request_context(info).session).categories(active_only=active_only)
        return [Category.from_row(row) for row in rows]

    @strawberry.field(
        directives=partner(), description="One category; NOT_FOUND if there is none with this id. Public."
    )
    async def category(self, info: strawberry.Info, id: strawberry.ID) -> Category | None:
        """Through the category loader."""
        category: Category | None = await loaders.category_by_id(request_context(info)).load(str(id))
        if category is None:
            raise not_found("Category", str(id))
        return category

    @strawberry.field(
        directives=[*authenticated(), *partner()],
        description="One product of the caller's tenant; NOT_FOUND otherwise, UNAUTHENTICATED if anonymous.",
    )
    async def product(self, info: strawberry.Info, id: strawberry.ID) -> Product | None:
        """Through the product loader (tenant-scoped)."""
        ctx = request_context(info)
        _readable_products(ctx)
        product: Product | None = await loaders.product_by_id(ctx).load(str(id))
        if product is None:
            raise not_found("Product", str(id))
        return product

    @strawberry.field(
        directives=[*authenticated(), page_size(), *partner()],
        description="The caller's products (UNAUTHENTICATED if anonymous), one page at a time.",
    )
    async def products(
        self,
        info: strawberry.Info,
        filter: ProductFilter | None = None,
        order_by: ProductOrder | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Product]:
        """Filtered, ordered, paginated; ``totalCount`` counts the whole filtered list."""
        repo = _readable_products(request_context(info))
        offset, limit = page_window(first, after)
        filter = filter or ProductFilter()
        order_by = order_by or ProductOrder()
        query = ProductQuery(
            category_id=str(filter.category_id) if filter.category_id is not None else None,
            is_enabled=filter.is_enabled,
            is_featured=filter.is_featured,
            search=domain.clean_search(filter.search),
            sort=ProductSortField(order_by.field),
            descending=order_by.direction == CatalogSortDirection.DESC,
        )
        rows, total = await repo.page_products(query, offset=offset, limit=limit)
        return build_connection([Product.from_row(row) for row in rows], offset=offset, total=total)

    @strawberry.field(
        directives=[*authenticated(), page_size(), *internal()],
        description="The catalog audit trail of the caller's tenant, newest first. Admins only.",
    )
    async def catalog_audit_log(
        self,
        info: strawberry.Info,
        object_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[CatalogAuditEntry]:
        """Optionally only the entries about one object."""
        ctx = request_context(info)
        tenant_id = ctx.caller.require_role(ADMIN)
        offset, limit = page_window(first, after)
        repo = AuditRepository(ctx.session)
        wanted = str(object_id) if object_id is not None else None
        total = await repo.count(tenant_id, wanted)
        rows = await repo.page(tenant_id, wanted, offset=offset, limit=limit) if limit else []
        return build_connection([CatalogAuditEntry.from_row(row) for row in rows], offset=offset, total=total)


def build() -> SubgraphSchema:
    """The catalog subgraph's schema."""
    from subgraphs.catalog.subscriptions import Subscription  # it imports this module's types

    return build_schema(query=Query, mutation=Mutation, subscription=Subscription, types=[Tenant, Category, Product])


# Re-exported: subscriptions.py and tests import the types from here.
__all__ = [
    "WRITE",
    "CatalogAuditEntry",
    "CatalogSortDirection",
    "Category",
    "Mutation",
    "Product",
    "ProductFilter",
    "ProductInput",
    "ProductOrder",
    "ProductOrderField",
    "ProductUpdateInput",
    "Query",
    "Tenant",
    "build",
]
