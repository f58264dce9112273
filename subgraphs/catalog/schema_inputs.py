"""The catalog's GraphQL input types and enums: product list filter and order, new and changed products."""

from __future__ import annotations

import enum

import strawberry
from strawberry.scalars import JSON

from subgraphs.catalog import domain
from subgraphs.catalog.repository import ProductSortField

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
