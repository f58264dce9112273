"""The demo data set, described once so the four seeders agree on ids.

Each subgraph seeds only its own tables, but a passport names a product, a
template names a category, and so on; deriving every id with
:func:`~subgraphs.common.ids.stable_id` from the names below keeps them in step
without any subgraph asking another. Seeding is idempotent: a seeder skips rows
whose id already exists.

The passwords are for local development only and are listed in the README.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from subgraphs.common.ids import stable_id


@dataclass(frozen=True, slots=True)
class DemoTenant:
    key: str
    name: str
    domain: str
    type: str  # TenantType value
    status: str  # TenantStatus value
    tenant_class: str  # standard | professional | enterprise
    parent_key: str | None = None

    @property
    def id(self) -> str:
        return stable_id("tenant", self.key)


@dataclass(frozen=True, slots=True)
class DemoUser:
    key: str
    email: str
    name: str
    password: str
    memberships: tuple[tuple[str, tuple[str, ...]], ...]  # (tenant key, roles)
    platform_admin: bool = False

    @property
    def id(self) -> str:
        return stable_id("user", self.key)


@dataclass(frozen=True, slots=True)
class DemoCategory:
    key: str
    name: str
    description: str
    product_type: str
    is_active: bool = True
    max_products: int | None = None  # per tenant
    parent_key: str | None = None

    @property
    def id(self) -> str:
        return stable_id("category", self.key)


@dataclass(frozen=True, slots=True)
class DemoProduct:
    tenant_key: str
    index: int
    name: str
    sku: str
    category_key: str
    is_featured: bool = False
    is_enabled: bool = True

    @property
    def id(self) -> str:
        return stable_id("product", self.tenant_key, str(self.index))

    @property
    def tenant_id(self) -> str:
        return stable_id("tenant", self.tenant_key)

    @property
    def category_id(self) -> str:
        return stable_id("category", self.category_key)


@dataclass(frozen=True, slots=True)
class DemoField:
    key: str
    label: str
    type: str  # STRING TEXT NUMBER INTEGER BOOLEAN DATE URL ENUM
    access: str  # PUBLIC RESTRICTED CONFIDENTIAL
    required: bool = False
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    enum_values: tuple[str, ...] = ()

    def id_for(self, template_key: str) -> str:
        return stable_id("field", template_key, self.key)


@dataclass(frozen=True, slots=True)
class DemoTemplate:
    key: str
    name: str
    description: str
    category_key: str
    fields: tuple[DemoField, ...]
    version: int = 1

    @property
    def id(self) -> str:
        return stable_id("template", self.key, str(self.version))

    @property
    def category_id(self) -> str:
        return stable_id("category", self.category_key)


@dataclass(frozen=True, slots=True)
class DemoPassport:
    tenant_key: str
    name: str
    product_index: int
    template_key: str
    status: str  # DRAFT PUBLISHED REVOKED ARCHIVED
    values: tuple[tuple[str, object], ...]
    published_versions: int = 0  # how many versions were published before ``status``

    @property
    def id(self) -> str:
        return stable_id("passport", self.tenant_key, self.name)

    @property
    def tenant_id(self) -> str:
        return stable_id("tenant", self.tenant_key)

    @property
    def product_id(self) -> str:
        return stable_id("product", self.tenant_key, str(self.product_index))

    @property
    def public_uuid(self) -> str:
        """The passport's public identifier (the QR code), derived like the ids so tests can name it."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:dpp:passport:{self.id}"))


TENANTS: tuple[DemoTenant, ...] = (
    DemoTenant("acme", "Acme Batteries GmbH", "acme.example", "manufacturer", "activated", "enterprise"),
    DemoTenant("greenloop", "GreenLoop Textiles BV", "greenloop.example", "supplier", "activated", "professional"),
    DemoTenant("nordic", "Nordic Retail AB", "nordic.example", "retailer", "invited", "standard"),
)

USERS: tuple[DemoUser, ...] = (
    DemoUser("root", "root@dpp.local", "Platform Admin", "Platform-Admin-2026", (("acme", ("Admin",)),), True),
    DemoUser("acme-admin", "admin@acme.example", "Ada Admin", "Acme-Admin-2026", (("acme", ("Admin",)),)),
    DemoUser("acme-manager", "manager@acme.example", "Max Manager", "Acme-Manager-2026", (("acme", ("Manager",)),)),
    DemoUser("acme-viewer", "viewer@acme.example", "Vera Viewer", "Acme-Viewer-2026", (("acme", ("Viewer",)),)),
    DemoUser(
        "greenloop-admin", "admin@greenloop.example", "Gus Admin", "GreenLoop-Admin-2026", (("greenloop", ("Admin",)),)
    ),
    DemoUser(
        "consultant",
        "consultant@dpp.example",
        "Cora Consultant",
        "Consultant-Pass-2026",
        (("acme", ("Viewer",)), ("greenloop", ("Manager",))),
    ),
)

CATEGORIES: tuple[DemoCategory, ...] = (
    DemoCategory("electronics", "Electronics", "Electronic products and components", "electronics"),
    DemoCategory(
        "batteries", "Batteries", "Industrial and EV batteries (EU 2023/1542)", "battery", parent_key="electronics"
    ),
    DemoCategory("textiles", "Textiles", "Apparel and home textiles", "textile"),
    DemoCategory("furniture", "Furniture", "Indoor and outdoor furniture", "furniture", max_products=25),
    DemoCategory("toys", "Toys", "Toys (category retired)", "toy", is_active=False),
    DemoCategory("appliances", "Small Appliances", "Kitchen and household appliances", "appliance", max_products=5),
)

_ACME_LINES = (
    ("batteries", "Cell Pack", "ACM-BAT"),
    ("electronics", "Controller", "ACM-ELC"),
    ("furniture", "Rack", "ACM-FUR"),
)
_GREEN_LINES = (("textiles", "Organic Tee", "GRL-TEX"), ("furniture", "Lounge Chair", "GRL-FUR"))


def _products() -> tuple[DemoProduct, ...]:
    products: list[DemoProduct] = []
    for i in range(36):
        category, label, sku = _ACME_LINES[i % len(_ACME_LINES)]
        products.append(
            DemoProduct(
                "acme", i, f"{label} {i // len(_ACME_LINES) + 1:02d}", f"{sku}-{i:04d}", category, is_featured=i < 4
            )
        )
    for i in range(24):
        category, label, sku = _GREEN_LINES[i % len(_GREEN_LINES)]
        products.append(
            DemoProduct(
                "greenloop",
                i,
                f"{label} {i // len(_GREEN_LINES) + 1:02d}",
                f"{sku}-{i:04d}",
                category,
                is_featured=i < 2,
                is_enabled=i != 23,
            )
        )
    return tuple(products)


PRODUCTS: tuple[DemoProduct, ...] = _products()

PRODUCT_DPP_FIELDS: tuple[DemoField, ...] = (
    DemoField("manufacturer_name", "Manufacturer", "STRING", "PUBLIC", required=True),
    DemoField("model_number", "Model number", "STRING", "PUBLIC", required=True, pattern=r"^[A-Z0-9-]{3,40}$"),
    DemoField("chemistry", "Cell chemistry", "ENUM", "PUBLIC", required=True, enum_values=("LFP", "NMC", "NCA", "LTO")),
    DemoField("capacity_kwh", "Rated capacity", "NUMBER", "PUBLIC", required=True, unit="kWh", min=0, max=2000),
    DemoField("carbon_footprint", "Carbon footprint", "NUMBER", "PUBLIC", unit="kgCO2e", min=0),
    DemoField("recycled_content", "Recycled content", "NUMBER", "PUBLIC", unit="%", min=0, max=100),
    DemoField("warranty_years", "Warranty", "INTEGER", "PUBLIC", unit="years", min=0, max=30),
    DemoField("hazardous", "Contains hazardous substances", "BOOLEAN", "PUBLIC"),
    DemoField("manufacture_date", "Date of manufacture", "DATE", "RESTRICTED", required=True),
    DemoField("safety_datasheet", "Safety data sheet", "URL", "RESTRICTED"),
    DemoField("unit_cost", "Unit cost", "NUMBER", "CONFIDENTIAL", unit="EUR", min=0),
)

SUPPLY_CHAIN_FIELDS: tuple[DemoField, ...] = (
    DemoField("fiber_composition", "Fibre composition", "TEXT", "PUBLIC", required=True),
    DemoField("country_of_origin", "Country of origin", "STRING", "PUBLIC", required=True, pattern=r"^[A-Z]{2}$"),
    DemoField("organic", "Certified organic", "BOOLEAN", "PUBLIC"),
    DemoField("water_usage", "Water used", "NUMBER", "PUBLIC", unit="L", min=0),
    DemoField("supplier_name", "Tier-1 supplier", "STRING", "RESTRICTED"),
    DemoField("audit_certificate", "Audit certificate", "URL", "RESTRICTED"),
    DemoField("production_cost", "Production cost", "NUMBER", "CONFIDENTIAL", unit="EUR", min=0),
)

TEMPLATES: tuple[DemoTemplate, ...] = (
    DemoTemplate("product-dpp", "Product DPP", "Battery passport per EU 2023/1542", "batteries", PRODUCT_DPP_FIELDS),
    DemoTemplate(
        "supply-chain-dpp", "Supply Chain DPP", "Textile supply-chain passport", "textiles", SUPPLY_CHAIN_FIELDS
    ),
)

# Which tenants have which templates enabled.
TEMPLATE_ENABLEMENTS: tuple[tuple[str, str], ...] = (
    ("acme", "product-dpp"),
    ("acme", "supply-chain-dpp"),
    ("greenloop", "supply-chain-dpp"),
)


def _battery_values(i: int) -> tuple[tuple[str, object], ...]:
    return (
        ("manufacturer_name", "Acme Batteries GmbH"),
        ("model_number", f"ACM-CP-{i:03d}"),
        ("chemistry", ("LFP", "NMC")[i % 2]),
        ("capacity_kwh", 50 + i * 2.5),
        ("carbon_footprint", 61.5 + i),
        ("recycled_content", 12 + i),
        ("warranty_years", 8),
        ("hazardous", False),
        ("manufacture_date", f"2026-0{1 + i % 9}-15"),
        ("safety_datasheet", f"https://acme.example/sds/{i}.pdf"),
        ("unit_cost", 3100 + i * 10),
    )


def _textile_values(i: int) -> tuple[tuple[str, object], ...]:
    return (
        ("fiber_composition", "95% organic cotton, 5% elastane"),
        ("country_of_origin", ("PT", "TR", "IN")[i % 3]),
        ("organic", True),
        ("water_usage", 2500 - i * 10),
        ("supplier_name", "Fios do Norte Lda"),
        ("audit_certificate", f"https://greenloop.example/audits/{i}.pdf"),
        ("production_cost", 4.2 + i / 10),
    )


# Acme battery products are indexes 0, 3, 6, ...; GreenLoop textiles are 0, 2, 4, ...
PASSPORTS: tuple[DemoPassport, ...] = (
    DemoPassport("acme", "ACME_CELL_PACK_01", 0, "product-dpp", "PUBLISHED", _battery_values(0), published_versions=2),
    DemoPassport("acme", "ACME_CELL_PACK_02", 3, "product-dpp", "PUBLISHED", _battery_values(3), published_versions=1),
    DemoPassport("acme", "ACME_CELL_PACK_03", 6, "product-dpp", "DRAFT", _battery_values(6)[:4]),
    DemoPassport("acme", "ACME_CELL_PACK_04", 9, "product-dpp", "REVOKED", _battery_values(9), published_versions=1),
    DemoPassport("acme", "ACME_CELL_PACK_05", 12, "product-dpp", "ARCHIVED", _battery_values(12), published_versions=1),
    DemoPassport("acme", "ACME_CELL_PACK_06", 15, "product-dpp", "DRAFT", ()),
    DemoPassport(
        "greenloop", "GRL_ORGANIC_TEE_01", 0, "supply-chain-dpp", "PUBLISHED", _textile_values(0), published_versions=1
    ),
    DemoPassport("greenloop", "GRL_ORGANIC_TEE_02", 2, "supply-chain-dpp", "DRAFT", _textile_values(2)[:3]),
    DemoPassport(
        "greenloop", "GRL_ORGANIC_TEE_03", 4, "supply-chain-dpp", "PUBLISHED", _textile_values(4), published_versions=1
    ),
)


def tenant(key: str) -> DemoTenant:
    """The demo tenant with ``key``."""
    return next(t for t in TENANTS if t.key == key)


def template(key: str) -> DemoTemplate:
    """The demo template with ``key``."""
    return next(t for t in TEMPLATES if t.key == key)
