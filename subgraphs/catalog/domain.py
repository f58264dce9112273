"""Catalog rules: who may change products, and what a valid product in a category is.

Plain functions over a :class:`~subgraphs.catalog.repository.CatalogRepository`
and the :class:`~subgraphs.common.caller.Caller`. They raise
:mod:`subgraphs.common.errors`; the schema turns those into GraphQL errors and
``run_mutation`` rolls back and audits any failure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from subgraphs.catalog.models import Category, Product
from subgraphs.catalog.repository import CatalogRepository
from subgraphs.common.caller import MANAGER, Caller
from subgraphs.common.errors import BadUserInput, Conflict, DomainError, not_found
from subgraphs.common.ids import utcnow
from subgraphs.common.writes import flush_or_conflict

MAX_FEATURED_PER_TENANT = 10
MAX_IMPORT_ITEMS = 500
MAX_NAME = 200
MAX_SKU = 64
MAX_DESCRIPTION = 2000
MAX_SEARCH = 200


@dataclass(frozen=True, slots=True)
class ProductData:
    """A new product as the caller describes it."""

    name: str
    sku: str
    category_id: str
    description: str | None = None
    is_enabled: bool = True
    metadata: Any = None


@dataclass(frozen=True, slots=True)
class ProductChanges:
    """Changes to a product; ``None`` leaves a value as it is (an empty description clears it)."""

    name: str | None = None
    sku: str | None = None
    description: str | None = None
    is_enabled: bool | None = None
    metadata: Any = None


@dataclass(frozen=True, slots=True)
class ItemError:
    """Why one item of an import was rejected (``item`` counts from 1)."""

    item: int
    code: str
    message: str


def snapshot(product: Product) -> dict[str, Any]:
    """A JSON-able picture of ``product`` for the audit trail."""
    return {
        "id": product.id,
        "tenantId": product.tenant_id,
        "name": product.name,
        "sku": product.sku,
        "description": product.description,
        "categoryId": product.category_id,
        "isEnabled": product.is_enabled,
        "isFeatured": product.is_featured,
        "metadata": product.attributes,
        "version": product.version,
    }


# Validation -------------------------------------------------------------------


def _clean_name(value: str) -> str:
    name = value.strip()
    if not name:
        raise BadUserInput("name must not be empty", field="name")
    if len(name) > MAX_NAME:
        raise BadUserInput(f"name must be at most {MAX_NAME} characters", field="name")
    return name


def _clean_sku(value: str) -> str:
    sku = value.strip()
    if not sku:
        raise BadUserInput("sku must not be empty", field="sku")
    if len(sku) > MAX_SKU or any(ch.isspace() for ch in sku):
        raise BadUserInput(f"sku must be at most {MAX_SKU} characters without spaces", field="sku")
    return sku


def _clean_description(value: str | None) -> str | None:
    if value is None:
        return None
    description = value.strip()
    if len(description) > MAX_DESCRIPTION:
        raise BadUserInput(f"description must be at most {MAX_DESCRIPTION} characters", field="description")
    return description or None


def clean_search(value: str | None) -> str | None:
    """A product search term, trimmed; at most ``MAX_SEARCH`` characters (``None`` when empty)."""
    if value is None:
        return None
    term = value.strip()
    if len(term) > MAX_SEARCH:
        raise BadUserInput(f"search must be at most {MAX_SEARCH} characters", field="search", limit=MAX_SEARCH)
    return term or None


def _clean_metadata(value: Any) -> Any:
    if value is not None and not isinstance(value, dict):
        raise BadUserInput("metadata must be a JSON object", field="metadata")
    return value


def _clean(data: ProductData) -> ProductData:
    return ProductData(
        name=_clean_name(data.name),
        sku=_clean_sku(data.sku),
        category_id=data.category_id,
        description=_clean_description(data.description),
        is_enabled=data.is_enabled,
        metadata=_clean_metadata(data.metadata),
    )


def _category_problem(category: Category | None, category_id: str, used: int, adding: int) -> DomainError | None:
    """Why ``adding`` more products cannot go into the category, or ``None`` if they can."""
    if category is None:
        return not_found("Category", category_id)
    if not category.is_active:
        return BadUserInput(f"category '{category.name}' is not active; choose an active category")
    if category.max_products is not None and used + adding > category.max_products:
        return Conflict(
            f"category '{category.name}' is full: it allows {category.max_products} products per tenant",
            limit=category.max_products,
        )
    return None


def _name_taken(name: str, category: Category) -> Conflict:
    return Conflict(f"name '{name}' already exists in category '{category.name}'")


def _check_version(product: Product, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != product.version:
        raise Conflict(
            f"version {expected_version} is stale; the current version is {product.version}",
            currentVersion=product.version,
        )


async def _flush(repo: CatalogRepository, product_name: str | None, category: Category | None = None) -> None:
    """Flush, turning a race lost to a concurrent request into the conflicts the checks report.

    ``product_name`` is ``None`` for a batch, where the clashing name is not known. The
    messages are composed before flushing: a failed flush expires every loaded row.
    """
    where = f" in category '{category.name}'" if category is not None else ""
    taken = (
        "another request created one of these names meanwhile; nothing was imported"
        if product_name is None
        else f"name '{product_name}' already exists{where}"
    )
    try:
        await flush_or_conflict(repo, taken)
    except StaleDataError:
        raise Conflict(f"product '{product_name}' was changed by someone else; reload it and try again") from None


async def _load(repo: CatalogRepository, product_id: str) -> Product:
    product = await repo.product(product_id)
    if product is None:
        raise not_found("Product", product_id)
    return product


# Mutations --------------------------------------------------------------------


async def create_product(repo: CatalogRepository, caller: Caller, data: ProductData) -> Product:
    """Create a product in an existing, active category with room; its name unique there."""
    tenant_id = caller.require_role(MANAGER)
    data = _clean(data)
    categories = await repo.categories_by_id([data.category_id], for_update=True)
    category = categories.get(data.category_id)
    used = (await repo.product_counts_by_category([data.category_id])).get(data.category_id, 0)
    problem = _category_problem(category, data.category_id, used, 1)
    if problem is not None:
        raise problem
    assert category is not None
    if await repo.names_taken([(category.id, data.name)]):
        raise _name_taken(data.name, category)
    product = _new_product(data, tenant_id)
    repo.add(product)
    await _flush(repo, data.name, category)
    return product


def _new_product(data: ProductData, tenant_id: str) -> Product:
    now = utcnow()
    return Product(
        tenant_id=tenant_id,
        name=data.name,
        sku=data.sku,
        description=data.description,
        category_id=data.category_id,
        is_enabled=data.is_enabled,
        attributes=data.metadata,
        created_at=now,
        updated_at=now,
    )


async def update_product(
    repo: CatalogRepository, caller: Caller, product_id: str, expected_version: int, changes: ProductChanges
) -> Product:
    """Change a product's own fields, provided the caller saw its current version."""
    caller.require_role(MANAGER)
    product = await _load(repo, product_id)
    _check_version(product, expected_version)
    if changes.name is not None:
        name = _clean_name(changes.name)
        if name != product.name:
            category = (await repo.categories_by_id([product.category_id]))[product.category_id]
            if await repo.names_taken([(product.category_id, name)], exclude_id=product.id):
                raise _name_taken(name, category)
            product.name = name
    if changes.sku is not None:
        product.sku = _clean_sku(changes.sku)
    if changes.description is not None:
        product.description = _clean_description(changes.description)
    if changes.is_enabled is not None:
        product.is_enabled = changes.is_enabled
    if changes.metadata is not None:
        product.attributes = _clean_metadata(changes.metadata)
    await _touch(repo, product)
    return product


async def _touch(repo: CatalogRepository, product: Product) -> None:
    """Stamp ``updated_at`` and flush if anything changed (the version then goes up by one)."""
    if repo.is_modified(product):
        product.updated_at = utcnow()
        await _flush(repo, product.name)


async def feature_product(
    repo: CatalogRepository, caller: Caller, product_id: str, featured: bool, expected_version: int | None
) -> Product:
    """Feature or unfeature a product, at most ten featured per tenant.

    Who may feature is the ``catalog:feature`` policy on ``featureProduct`` (Admins by
    default, other roles when an admin grants it), enforced by the schema's directive
    in one place (:mod:`subgraphs.common.authz`); here only a writer of the tenant.
    """
    tenant_id = caller.require_role(MANAGER)
    if featured:
        # Count and feature without another featuring in between (SQLite: the mutation's write lock).
        await repo.lock_featured(tenant_id)
    product = await _load(repo, product_id)
    _check_version(product, expected_version)
    if featured and not product.is_featured:
        if await repo.featured_count() >= MAX_FEATURED_PER_TENANT:
            raise Conflict(
                f"at most {MAX_FEATURED_PER_TENANT} products may be featured per tenant; unfeature one first",
                limit=MAX_FEATURED_PER_TENANT,
            )
    product.is_featured = featured
    await _touch(repo, product)
    return product


async def transfer_product(
    repo: CatalogRepository, caller: Caller, product_id: str, category_id: str, expected_version: int
) -> Product:
    """Move a product to another category of the same tenant (the create rules apply there)."""
    caller.require_role(MANAGER)
    product = await _load(repo, product_id)
    _check_version(product, expected_version)
    categories = await repo.categories_by_id([category_id], for_update=True)
    category = categories.get(category_id)
    if category is not None and category.id == product.category_id:
        raise BadUserInput(f"product '{product.name}' is already in category '{category.name}'")
    used = (await repo.product_counts_by_category([category_id])).get(category_id, 0)
    problem = _category_problem(category, category_id, used, 1)
    if problem is not None:
        raise problem
    assert category is not None
    if await repo.names_taken([(category.id, product.name)], exclude_id=product.id):
        raise _name_taken(product.name, category)
    product.category_id = category.id
    await _touch(repo, product)
    return product


async def delete_product(repo: CatalogRepository, caller: Caller, product_id: str, expected_version: int) -> Product:
    """Delete a product, provided the caller saw its current version; returns the deleted row."""
    caller.require_role(MANAGER)
    product = await _load(repo, product_id)
    _check_version(product, expected_version)
    await repo.delete(product)
    await _flush(repo, product.name)
    return product


async def import_products(repo: CatalogRepository, caller: Caller, items: Sequence[ProductData]) -> list[Product]:
    """Create every item or none: all problems are reported together, per item (1-based)."""
    tenant_id = caller.require_role(MANAGER)
    if not items:
        raise BadUserInput("items must not be empty")
    if len(items) > MAX_IMPORT_ITEMS:
        raise BadUserInput(f"an import takes at most {MAX_IMPORT_ITEMS} items; split the batch")

    errors: list[ItemError] = []
    cleaned: dict[int, ProductData] = {}
    for number, item in enumerate(items, start=1):
        try:
            cleaned[number] = _clean(item)
        except DomainError as exc:
            errors.append(ItemError(number, exc.code, exc.message))

    category_ids = {data.category_id for data in cleaned.values()}
    categories = await repo.categories_by_id(category_ids, for_update=True)
    used = await repo.product_counts_by_category(category_ids)
    taken = await repo.names_taken((data.category_id, data.name) for data in cleaned.values())

    first_seen: dict[tuple[str, str], int] = {}
    adding: Counter[str] = Counter()
    for number, data in cleaned.items():
        category = categories.get(data.category_id)
        problem = _category_problem(
            category, data.category_id, used.get(data.category_id, 0), adding[data.category_id] + 1
        )
        if problem is None:
            assert category is not None
            key = (data.category_id, data.name)
            if key in taken:
                problem = _name_taken(data.name, category)
            elif key in first_seen:
                problem = Conflict(
                    f"name '{data.name}' appears twice in category '{category.name}' (also item {first_seen[key]})"
                )
        if problem is not None:
            errors.append(ItemError(number, problem.code, problem.message))
            continue
        first_seen[(data.category_id, data.name)] = number
        adding[data.category_id] += 1

    if errors:
        errors.sort(key=lambda e: e.item)
        details = "; ".join(f"item {e.item}: {e.message}" for e in errors)
        raise BadUserInput(
            f"nothing was imported: {len(errors)} of {len(items)} items are invalid. {details}",
            itemErrors=[{"item": e.item, "code": e.code, "message": e.message} for e in errors],
        )

    products = [_new_product(cleaned[number], tenant_id) for number in sorted(cleaned)]
    repo.add(*products)
    await _flush(repo, None)
    return products
