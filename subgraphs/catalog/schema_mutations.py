"""The catalog's mutations: products created, changed, featured, moved, deleted and imported.

Each runs through :func:`subgraphs.common.audit.run_mutation` (one transaction, audited whether
it succeeds or fails, the product events of :data:`EVENTS` published after the commit);
:func:`_audited` records a product's before/after.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Annotated, Any, TypeVar

import strawberry

from subgraphs.catalog import domain
from subgraphs.catalog import models as m
from subgraphs.catalog.repository import CatalogRepository
from subgraphs.catalog.schema_inputs import ProductInput, ProductUpdateInput
from subgraphs.catalog.schema_types import Product, request_context
from subgraphs.common.audit import AuditRecord, event_table, run_mutation
from subgraphs.common.authz import policy, requires_scopes

T = TypeVar("T")


def _audited(record: AuditRecord, product: m.Product, before: dict[str, Any] | None, *, deleted: bool = False) -> None:
    record.object_id = product.id
    record.before = before
    record.after = None if deleted else domain.snapshot(product)


def _attributes(product: m.Product) -> dict[str, object]:
    return {"categoryId": product.category_id, "isFeatured": product.is_featured, "isEnabled": product.is_enabled}


# The product event each mutation stages for subscriptions (subgraphs/catalog/subscriptions.py).
EVENTS = event_table(
    "Product",
    {
        "createProduct": "created",
        "updateProduct": "updated",
        "featureProduct": "updated",
        "transferProduct": "updated",
        "deleteProduct": "deleted",
    },
    attributes=_attributes,
)
EVENTS["importProducts"] = replace(EVENTS["createProduct"], rows=list)  # one created event per product


async def _mutate(
    ctx: Any, action: str, work: Callable[[AuditRecord], Awaitable[T]], object_id: str | None = None
) -> T:
    return await run_mutation(
        ctx, action=action, object_type="Product", work=work, object_id=object_id, event=EVENTS[action]
    )


# Every catalog change needs the catalog:write scope (Managers and Admins have it).
WRITE = requires_scopes("catalog:write")


@strawberry.type
class Mutation:
    """Catalog changes. Each runs in one transaction and is audited, whether it succeeds or fails."""

    @strawberry.mutation(
        directives=WRITE,
        description="Create a product (Manager). The category must exist, be active and have room.",
    )
    async def create_product(self, info: strawberry.Info, input: ProductInput) -> Product:
        """Name unique in the category, or CONFLICT."""
        ctx = request_context(info)

        async def work(record: AuditRecord) -> m.Product:
            product = await domain.create_product(CatalogRepository(ctx.session), ctx.caller, input.to_data())
            _audited(record, product, None)
            return product

        return Product.from_row(await _mutate(ctx, "createProduct", work))

    @strawberry.mutation(
        directives=WRITE,
        description="Change a product (Manager). A stale expectedVersion is a CONFLICT naming the current version.",
    )
    async def update_product(
        self, info: strawberry.Info, id: strawberry.ID, expected_version: int, input: ProductUpdateInput
    ) -> Product:
        """The version goes up by one when anything changed."""
        ctx = request_context(info)

        async def work(record: AuditRecord) -> m.Product:
            repo = CatalogRepository(ctx.session)
            before = await _before(repo, str(id))
            product = await domain.update_product(repo, ctx.caller, str(id), expected_version, input.to_changes())
            _audited(record, product, before)
            return product

        result = await _mutate(ctx, "updateProduct", work, str(id))
        return Product.from_row(result)

    @strawberry.mutation(
        directives=WRITE + policy("catalog:feature"),
        description=(
            "Feature or unfeature a product (the catalog:feature policy: Admins, unless granted to other roles). "
            "At most 10 products are featured per tenant."
        ),
    )
    async def feature_product(
        self,
        info: strawberry.Info,
        id: strawberry.ID,
        featured: bool = True,
        expected_version: int | None = None,
    ) -> Product:
        """CONFLICT when featuring an 11th product."""
        ctx = request_context(info)

        async def work(record: AuditRecord) -> m.Product:
            repo = CatalogRepository(ctx.session)
            before = await _before(repo, str(id))
            product = await domain.feature_product(repo, ctx.caller, str(id), featured, expected_version)
            _audited(record, product, before)
            return product

        result = await _mutate(ctx, "featureProduct", work, str(id))
        return Product.from_row(result)

    @strawberry.mutation(
        directives=WRITE,
        description=(
            "Move a product to another category of the taxonomy (Manager). The product stays with its tenant: "
            "moving it to another tenant would break tenant isolation. The target category must be active, have "
            "room, and not hold a product of the same name."
        ),
    )
    async def transfer_product(
        self, info: strawberry.Info, id: strawberry.ID, category_id: strawberry.ID, expected_version: int
    ) -> Product:
        """Same category rules as createProduct."""
        ctx = request_context(info)

        async def work(record: AuditRecord) -> m.Product:
            repo = CatalogRepository(ctx.session)
            before = await _before(repo, str(id))
            product = await domain.transfer_product(repo, ctx.caller, str(id), str(category_id), expected_version)
            _audited(record, product, before)
            return product

        result = await _mutate(ctx, "transferProduct", work, str(id))
        return Product.from_row(result)

    @strawberry.mutation(directives=WRITE, description="Delete a product (Manager); returns its id.")
    async def delete_product(self, info: strawberry.Info, id: strawberry.ID, expected_version: int) -> strawberry.ID:
        """A stale expectedVersion is a CONFLICT."""
        ctx = request_context(info)

        async def work(record: AuditRecord) -> m.Product:
            repo = CatalogRepository(ctx.session)
            before = await _before(repo, str(id))
            product = await domain.delete_product(repo, ctx.caller, str(id), expected_version)
            _audited(record, product, before, deleted=True)
            return product

        result = await _mutate(ctx, "deleteProduct", work, str(id))
        return strawberry.ID(result.id)

    @strawberry.mutation(
        directives=WRITE,
        description=(
            "Create many products at once (Manager): all or nothing. When any item is invalid nothing is created "
            "and one BAD_USER_INPUT error lists every problem ('item 3: ...', items counted from 1), also in "
            "extensions.itemErrors as {item, code, message}."
        ),
    )
    async def import_products(
        self, info: strawberry.Info, items: Annotated[list[ProductInput], strawberry.argument()]
    ) -> list[Product]:
        """The created products in the order given."""
        ctx = request_context(info)

        async def work(record: AuditRecord) -> list[m.Product]:
            products = await domain.import_products(
                CatalogRepository(ctx.session), ctx.caller, [item.to_data() for item in items]
            )
            record.after = {"count": len(products), "ids": [p.id for p in products]}
            return products

        rows = await _mutate(ctx, "importProducts", work)
        return [Product.from_row(row) for row in rows]


async def _before(repo: CatalogRepository, product_id: str) -> dict[str, Any] | None:
    product = await repo.product(product_id)
    return domain.snapshot(product) if product is not None else None
