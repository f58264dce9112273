"""Catalog subscriptions: changes of one product, and of the tenant's products.

Events come from the catalog mutations (declared in ``schema_mutations.EVENTS``: kinds created, updated,
deleted) through the subgraph's bus, after the commit. Each payload is the product as it is
when the event is delivered, loaded in the subscriber's tenant.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry

from subgraphs.catalog import loaders
from subgraphs.catalog.schema import Product
from subgraphs.common.authz import authenticated
from subgraphs.common.errors import NotFound, not_found
from subgraphs.common.events import Event
from subgraphs.common.subscriptions_stream import tenant_events, watch

PRODUCT = "Product"


@strawberry.input(description="Which product events to receive; every condition given must hold.")
class ProductEventFilter:
    """Conditions of productEvents, on the product as the change left it."""

    category_id: strawberry.ID | None = None
    is_featured: bool | None = None
    is_enabled: bool | None = None


def _admits(flt: ProductEventFilter | None) -> Any:
    def flag(value: bool | None) -> str | None:
        return None if value is None else ("true" if value else "false")

    wanted = {
        "categoryId": str(flt.category_id) if flt and flt.category_id else None,
        "isFeatured": flag(flt.is_featured) if flt else None,
        "isEnabled": flag(flt.is_enabled) if flt else None,
    }

    def match(event: Event) -> bool:
        if event.kind == "deleted":
            return False
        return all(value is None or event.attribute(name) == value for name, value in wanted.items())

    return match


async def _product(ctx: Any, event: Event) -> Product | None:
    product: Product | None = await loaders.product_by_id(ctx).load(event.key)
    return product


@strawberry.type
class Subscription:
    """Catalog changes, as they commit."""

    @strawberry.subscription(
        directives=authenticated(),
        description="Every change of one product of your tenant; NOT_FOUND otherwise. Deleting the product ends "
        "the subscription with a NOT_FOUND error.",
    )
    async def product_changed(self, info: strawberry.Info, id: strawberry.ID) -> AsyncGenerator[Product, None]:
        ctx = info.context
        key = str(id)

        async def prepare() -> None:
            ctx.caller.require_tenant()
            if await loaders.product_by_id(ctx).load(key) is None:
                raise not_found(PRODUCT, key)

        async def load(event: Event) -> Product | None:
            if event.kind == "deleted":
                raise NotFound(f"{PRODUCT} '{key}' was deleted", kind=PRODUCT, id=key)
            return await _product(ctx, event)

        match = tenant_events(ctx, PRODUCT, lambda event: event.key == key)
        return await watch(info, match, load, prepare=prepare)  # type: ignore[return-value]

    @strawberry.subscription(
        directives=authenticated(),
        description="Every creation or change of your tenant's products that matches the filter (as the change "
        "left them); deletions are not delivered.",
    )
    async def product_events(
        self, info: strawberry.Info, filter: ProductEventFilter | None = None
    ) -> AsyncGenerator[Product, None]:
        ctx = info.context

        async def prepare() -> None:
            ctx.caller.require_tenant()

        match = tenant_events(ctx, PRODUCT, _admits(filter))
        return await watch(info, match, lambda event: _product(ctx, event), prepare=prepare)  # type: ignore[return-value]
