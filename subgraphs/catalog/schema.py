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
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from subgraphs.catalog import domain, loaders
from subgraphs.catalog import models as m
from subgraphs.catalog.repository import AuditRepository, CatalogRepository, ProductQuery, ProductSortField
from subgraphs.common.audit import AuditRecord, run_mutation
from subgraphs.common.authz import authenticated, policy, requires_scopes
from subgraphs.common.caller import ADMIN, VIEWER
from subgraphs.common.context import RequestContext
from subgraphs.common.errors import not_found
from subgraphs.common.graphql import SubgraphSchema, build_schema
from subgraphs.common.pagination import Connection, build_connection, page_size, page_window
from subgraphs.common.tags import PARTNER, internal, partner


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored value is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _ctx(info: strawberry.Info) -> RequestContext:
    return info.context


# Entities ----------------------------------------------------------------------


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
    def from_row(cls, row: m.Category) -> Category:
        """The GraphQL view of a category row."""
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            description=row.description,
            product_type=row.product_type,
            is_active=row.is_active,
            max_products=row.max_products,
            parent_id=row.parent_id,
        )

    @strawberry.field(description="The enclosing category, if any.")
    async def parent(self, info: strawberry.Info) -> Category | None:
        """Loaded through the per-request category loader."""
        if self.parent_id is None:
            return None
        row = await loaders.category_by_id(_ctx(info)).load(self.parent_id)
        return Category.from_row(row) if row is not None else None

    @strawberry.field(description="How many products the caller's tenant keeps here (0 for anonymous callers).")
    async def product_count(self, info: strawberry.Info) -> int:
        """Counted per request in one grouped query."""
        if _ctx(info).caller.is_anonymous:
            return 0
        return int(await loaders.product_count_by_category(_ctx(info)).load(str(self.id)))

    @classmethod
    async def resolve_reference(cls, info: strawberry.Info, id: strawberry.ID) -> Category | None:
        """``_entities``: categories are public; an unknown id resolves to null."""
        row = await loaders.category_by_id(_ctx(info)).load(str(id))
        return cls.from_row(row) if row is not None else None


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
    def from_row(cls, row: m.Product) -> Product:
        """The GraphQL view of a product row."""
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
    async def category(self, info: strawberry.Info) -> Category:
        """Loaded through the per-request category loader."""
        row = await loaders.category_by_id(_ctx(info)).load(self.category_id)
        if row is None:  # the foreign key makes this unreachable
            raise not_found("Category", self.category_id)
        return Category.from_row(row)

    @classmethod
    async def resolve_reference(cls, info: strawberry.Info, id: strawberry.ID) -> Product | None:
        """``_entities``: the caller's product; null for another tenant's and for anonymous callers.

        No product is public, so an anonymous call answers null without a query (the
        type's ``@authenticated`` would deny its fields anyway).
        """
        ctx = _ctx(info)
        if ctx.caller.is_anonymous:
            return None
        row = await loaders.product_by_id(ctx).load(str(id))
        return cls.from_row(row) if row is not None else None


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


# Inputs --------------------------------------------------------------------------

ProductOrderField = strawberry.enum(ProductSortField, name="ProductOrderField", description="Product list order.")


@strawberry.enum(description="Ascending or descending.")
class CatalogSortDirection(enum.Enum):
    """Sort direction of catalog lists."""

    ASC = "ASC"
    DESC = "DESC"


@strawberry.input(description="Filters of the product list; all optional and combined with AND.")
class ProductFilter:
    """What to list."""

    category_id: strawberry.ID | None = None
    is_enabled: bool | None = None
    is_featured: bool | None = None
    search: str | None = strawberry.field(
        default=None, description="Case-insensitive substring of the name, sku or description."
    )


@strawberry.input(description="Order of the product list (ties are broken by id).")
class ProductOrder:
    """How to order."""

    field: ProductOrderField = ProductSortField.NAME  # type: ignore[valid-type]
    direction: CatalogSortDirection = CatalogSortDirection.ASC  # type: ignore[assignment]


@strawberry.input(description="A new product.")
class ProductInput:
    """Fields of a new product."""

    name: str = strawberry.field(description="Unique within the category for the tenant.")
    sku: str
    category_id: strawberry.ID = strawberry.field(
        description="An existing, active category that still has room for the tenant."
    )
    description: str | None = None
    is_enabled: bool = True
    metadata: JSON | None = strawberry.field(default=None, description="A JSON object.")

    def to_data(self) -> domain.ProductData:
        """The domain's view of this input."""
        return domain.ProductData(
            name=self.name,
            sku=self.sku,
            category_id=str(self.category_id),
            description=self.description,
            is_enabled=self.is_enabled,
            metadata=self.metadata,
        )


@strawberry.input(description="Changes to a product; omitted or null fields stay as they are.")
class ProductUpdateInput:
    """Fields to change. An empty description clears it; metadata replaces the whole object."""

    name: str | None = None
    sku: str | None = None
    description: str | None = None
    is_enabled: bool | None = None
    metadata: JSON | None = None

    def to_changes(self) -> domain.ProductChanges:
        """The domain's view of this input."""
        return domain.ProductChanges(
            name=self.name,
            sku=self.sku,
            description=self.description,
            is_enabled=self.is_enabled,
            metadata=self.metadata,
        )


# Root types ------------------------------------------------------------------------


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
        rows = await CatalogRepository(_ctx(info).session).categories(active_only=active_only)
        return [Category.from_row(row) for row in rows]

    @strawberry.field(
        directives=partner(), description="One category; NOT_FOUND if there is none with this id. Public."
    )
    async def category(self, info: strawberry.Info, id: strawberry.ID) -> Category | None:
        """Through the category loader."""
        row = await loaders.category_by_id(_ctx(info)).load(str(id))
        if row is None:
            raise not_found("Category", str(id))
        return Category.from_row(row)

    @strawberry.field(
        directives=[*authenticated(), *partner()],
        description="One product of the caller's tenant; NOT_FOUND otherwise, UNAUTHENTICATED if anonymous.",
    )
    async def product(self, info: strawberry.Info, id: strawberry.ID) -> Product | None:
        """Through the product loader (tenant-scoped)."""
        ctx = _ctx(info)
        _readable_products(ctx)
        row = await loaders.product_by_id(ctx).load(str(id))
        if row is None:
            raise not_found("Product", str(id))
        return Product.from_row(row)

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
        repo = _readable_products(_ctx(info))
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
        ctx = _ctx(info)
        tenant_id = ctx.caller.require_role(ADMIN)
        offset, limit = page_window(first, after)
        repo = AuditRepository(ctx.session)
        wanted = str(object_id) if object_id is not None else None
        total = await repo.count(tenant_id, wanted)
        rows = await repo.page(tenant_id, wanted, offset=offset, limit=limit) if limit else []
        return build_connection([CatalogAuditEntry.from_row(row) for row in rows], offset=offset, total=total)


def _audited(record: AuditRecord, product: m.Product, before: dict[str, Any] | None, *, deleted: bool = False) -> None:
    record.object_id = product.id
    record.before = before
    record.after = None if deleted else domain.snapshot(product)
    _emit(record, product, "deleted" if deleted else "created" if before is None else "updated")


def _emit(record: AuditRecord, product: m.Product, kind: str) -> None:
    """Stage the product's event for subscriptions (subgraphs/catalog/subscriptions.py), published after the commit."""
    record.emit(
        "Product",
        product.id,
        kind,
        product.tenant_id,
        categoryId=product.category_id,
        isFeatured=product.is_featured,
        isEnabled=product.is_enabled,
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
        ctx = _ctx(info)

        async def work(record: AuditRecord) -> m.Product:
            product = await domain.create_product(CatalogRepository(ctx.session), ctx.caller, input.to_data())
            _audited(record, product, None)
            return product

        return Product.from_row(await run_mutation(ctx, action="createProduct", object_type="Product", work=work))

    @strawberry.mutation(
        directives=WRITE,
        description="Change a product (Manager). A stale expectedVersion is a CONFLICT naming the current version.",
    )
    async def update_product(
        self, info: strawberry.Info, id: strawberry.ID, expected_version: int, input: ProductUpdateInput
    ) -> Product:
        """The version goes up by one when anything changed."""
        ctx = _ctx(info)

        async def work(record: AuditRecord) -> m.Product:
            repo = CatalogRepository(ctx.session)
            before = await _before(repo, str(id))
            product = await domain.update_product(repo, ctx.caller, str(id), expected_version, input.to_changes())
            _audited(record, product, before)
            return product

        result = await run_mutation(ctx, action="updateProduct", object_type="Product", work=work, object_id=str(id))
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
        ctx = _ctx(info)

        async def work(record: AuditRecord) -> m.Product:
            repo = CatalogRepository(ctx.session)
            before = await _before(repo, str(id))
            product = await domain.feature_product(repo, ctx.caller, str(id), featured, expected_version)
            _audited(record, product, before)
            return product

        result = await run_mutation(ctx, action="featureProduct", object_type="Product", work=work, object_id=str(id))
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
        ctx = _ctx(info)

        async def work(record: AuditRecord) -> m.Product:
            repo = CatalogRepository(ctx.session)
            before = await _before(repo, str(id))
            product = await domain.transfer_product(repo, ctx.caller, str(id), str(category_id), expected_version)
            _audited(record, product, before)
            return product

        result = await run_mutation(ctx, action="transferProduct", object_type="Product", work=work, object_id=str(id))
        return Product.from_row(result)

    @strawberry.mutation(directives=WRITE, description="Delete a product (Manager); returns its id.")
    async def delete_product(self, info: strawberry.Info, id: strawberry.ID, expected_version: int) -> strawberry.ID:
        """A stale expectedVersion is a CONFLICT."""
        ctx = _ctx(info)

        async def work(record: AuditRecord) -> m.Product:
            repo = CatalogRepository(ctx.session)
            before = await _before(repo, str(id))
            product = await domain.delete_product(repo, ctx.caller, str(id), expected_version)
            _audited(record, product, before, deleted=True)
            return product

        result = await run_mutation(ctx, action="deleteProduct", object_type="Product", work=work, object_id=str(id))
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
        ctx = _ctx(info)

        async def work(record: AuditRecord) -> list[m.Product]:
            products = await domain.import_products(
                CatalogRepository(ctx.session), ctx.caller, [item.to_data() for item in items]
            )
            record.after = {"count": len(products), "ids": [p.id for p in products]}
            for product in products:
                _emit(record, product, "created")
            return products

        rows = await run_mutation(ctx, action="importProducts", object_type="Product", work=work)
        return [Product.from_row(row) for row in rows]


async def _before(repo: CatalogRepository, product_id: str) -> dict[str, Any] | None:
    product = await repo.product(product_id)
    return domain.snapshot(product) if product is not None else None


def build() -> SubgraphSchema:
    """The catalog subgraph's schema."""
    from subgraphs.catalog.subscriptions import Subscription  # it imports this module's types

    return build_schema(query=Query, mutation=Mutation, subscription=Subscription, types=[Tenant, Category, Product])
