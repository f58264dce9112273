"""The catalog's GraphQL object types: the Tenant stub, Category, Product and the audit entry.

Each type knows how it is read from its row (``from_row``) and how ``_entities`` resolves it;
the visibility rules they follow are those of :mod:`subgraphs.catalog.schema`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import strawberry
from strawberry.scalars import JSON

from subgraphs.catalog import loaders
from subgraphs.catalog import models as m
from subgraphs.common.authz import authenticated
from subgraphs.common.context import RequestContext
from subgraphs.common.errors import not_found
from subgraphs.common.tags import PARTNER, internal


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored value is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def request_context(info: strawberry.Info) -> RequestContext:
    """The request's context (typed)."""
    return info.context


async def _present(loading: Awaitable[Category | None], category_id: str) -> Category:
    category = await loading
    if category is None:  # the foreign key makes this unreachable
        raise not_found("Category", category_id)
    return category


@strawberry.federation.type(keys=["id"])
class Tenant:
    """Stub of identity's ``Tenant``: catalog knows only its key."""

    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Tenant:
        """The stub for ``id``; identity resolves the rest."""
        return cls(id=id)


@strawberry.federation.type(
    keys=["id"],
    tags=[PARTNER],
    description="A node of the platform-wide product taxonomy, readable by everyone (anonymous callers too).",
)
class Category:
    """A category of the shared taxonomy."""

    id: strawberry.ID
    name: str
    description: str
    product_type: str
    is_active: bool = strawberry.field(description="Inactive categories accept no new products.")
    max_products: int | None = strawberry.field(
        description="How many products EACH TENANT may keep in this category (null: no limit)."
    )
    parent_id: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: m.Category | Any) -> Category:
        """The GraphQL view of a category row (an ORM object or a plain row of its columns)."""
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            description=row.description,
            product_type=row.product_type,
            is_active=row.is_active,
            max_products=row.max_products,
            parent_id=row.parent_id,
        )

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> Category:
        """The GraphQL view of a category's column values by attribute name."""
        return cls.from_row(SimpleNamespace(**values))

    @strawberry.field(description="The enclosing category, if any.")
    def parent(self, info: strawberry.Info) -> Category | None:
        """Through the per-request category loader (at once when it holds the parent already)."""
        if self.parent_id is None:
            return None
        return loaders.category_by_id(request_context(info)).get(self.parent_id)  # type: ignore[no-any-return]

    @strawberry.field(description="How many products the caller's tenant keeps here (0 for anonymous callers).")
    async def product_count(self, info: strawberry.Info) -> int:
        """Counted per request in one grouped query."""
        if request_context(info).caller.is_anonymous:
            return 0
        return int(await loaders.product_count_by_category(request_context(info)).load(str(self.id)))

    @classmethod
    def resolve_reference(cls, info: strawberry.Info, id: strawberry.ID) -> Category | None:
        """``_entities``: categories are public; an unknown id resolves to null.

        The loader's awaitable of the category (or the category itself, once loaded): no
        coroutine per representation.
        """
        return loaders.category_by_id(request_context(info)).get(str(id))  # type: ignore[no-any-return]


@strawberry.federation.type(
    keys=["id"],
    tags=[PARTNER],
    directives=authenticated(),
    description="A tenant's product in one category (signed-in members only).",
)
class Product:
    """A product. ``version`` starts at 1 and goes up by one with every change."""

    id: strawberry.ID
    name: str
    sku: str
    is_enabled: bool
    is_featured: bool
    version: int
    created_at: datetime
    updated_at: datetime
    tenant_id: strawberry.Private[str]
    category_id: strawberry.Private[str]
    stored_description: strawberry.Private[str | None]
    stored_metadata: strawberry.Private[Any]

    @classmethod
    def from_row(cls, row: m.Product | Any) -> Product:
        """The GraphQL view of a product row (an ORM object or a plain row of its columns)."""
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            sku=row.sku,
            is_enabled=row.is_enabled,
            is_featured=row.is_featured,
            version=row.version,
            created_at=_utc(row.created_at),
            updated_at=_utc(row.updated_at),
            tenant_id=row.tenant_id,
            category_id=row.category_id,
            stored_description=row.description,
            stored_metadata=row.attributes,
        )

    @strawberry.field(description="Free text.")
    def description(self) -> str | None:
        """The stored description."""
        return self.stored_description

    @strawberry.field(description="Free-form JSON object; null when unset.")
    def metadata(self) -> JSON | None:
        """The stored metadata."""
        return self.stored_metadata

    @strawberry.field(
        directives=internal(),
        description="The owning tenant (resolved by the identity subgraph; null when it cannot be reached).",
    )
    def tenant(self) -> Tenant | None:
        """A key-only stub."""
        return Tenant(id=strawberry.ID(self.tenant_id))

    @strawberry.field
    def category(self, info: strawberry.Info) -> Category:
        """Through the per-request category loader: the category itself once a batch loaded it
        (the products of a page share a few categories), else the awaitable of it."""
        loaded = loaders.category_by_id(request_context(info)).get(self.category_id)
        if isinstance(loaded, Category):
            return loaded
        if loaded is None:  # the foreign key makes this unreachable
            raise not_found("Category", self.category_id)
        return _present(loaded, self.category_id)  # type: ignore[return-value]

    @classmethod
    def resolve_reference(cls, info: strawberry.Info, id: strawberry.ID) -> Product | None:
        """``_entities``: the caller's product; null for another tenant's and for anonymous callers.

        No product is public, so an anonymous call answers null without a query (the
        type's ``@authenticated`` would deny its fields anyway). Otherwise the loader's
        awaitable of the product (or the product, once loaded): no coroutine per representation.
        """
        ctx = request_context(info)
        if ctx.caller.is_anonymous:
            return None
        return loaders.product_by_id(ctx).get(str(id))  # type: ignore[no-any-return]


@strawberry.type(description="One audited catalog mutation.")
class CatalogAuditEntry:
    """Who did what to which object, and whether it worked."""

    id: strawberry.ID
    action: str
    object_type: str
    object_id: str | None
    user_id: str | None
    result: str = strawberry.field(description="OK, or the error code of the failure.")
    message: str | None
    before: JSON | None
    after: JSON | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: m.AuditEntry) -> CatalogAuditEntry:
        """The GraphQL view of an audit row."""
        return cls(
            id=strawberry.ID(row.id),
            action=row.action,
            object_type=row.object_type,
            object_id=row.object_id,
            user_id=row.user_id,
            result=row.result,
            message=row.message,
            before=row.before,
            after=row.after,
            created_at=_utc(row.created_at),
        )
