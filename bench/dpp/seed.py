"""Seed the databases of one stack for ``make bench-dpp``: the demo data, then bulk rows.

Run by ``bench/dpp/run.py`` as a process of its own with ``PYTHONPATH`` set to the checkout
being measured, so that each checkout migrates and fills its databases with its own models
(``--tree``: the commit before a change may have other migrations). The databases are named by
``<SERVICE>_DATABASE_URL`` as for the subgraphs themselves.

The demo seed (``dpp-stack``'s, through :func:`subgraphs.cli.prepare`) gives the tenants, users,
categories and templates; the bulk part adds ``--products`` products and one passport each, spread
over the three demo tenants in the two categories that have a published template (batteries and
textiles), most of them PUBLISHED with one or two chained versions and the product's public face,
the rest DRAFT. Rows go in through the models' tables with multi-row INSERTs, not through GraphQL.
It prints one JSON line: the published uuids and what the workloads need (ids, counts).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from subgraphs.catalog.models import Product
from subgraphs.cli import prepare
from subgraphs.common import demo
from subgraphs.common.db import Database
from subgraphs.common.ids import stable_id
from subgraphs.common.settings import SERVICE_NAMES, Settings
from subgraphs.passport.content import VersionContent, apply_values, sha256_hex, snapshot_to_json
from subgraphs.passport.models import Passport, PassportVersion
from subgraphs.passport.seed import template_snapshot

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
CHUNK = 1000
# (tenant key, share of the products, categories it fills); nordic has no users, but its passports are public.
TENANTS: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("acme", 0.5, ("batteries", "textiles")),
    ("greenloop", 0.3, ("textiles",)),
    ("nordic", 0.2, ("batteries", "textiles")),
)
TEMPLATE_OF = {"batteries": "product-dpp", "textiles": "supply-chain-dpp"}
LABEL_OF = {"batteries": ("Bench Cell", "BNC-BAT"), "textiles": ("Bench Tee", "BNC-TEX")}


def battery_values(i: int) -> list[tuple[str, object]]:
    """Valid values of the battery template for bulk passport ``i``."""
    return [
        ("manufacturer_name", "Acme Batteries GmbH"),
        ("model_number", f"BNC-CP-{i:06d}"),
        ("chemistry", ("LFP", "NMC", "NCA", "LTO")[i % 4]),
        ("capacity_kwh", 20 + (i % 400) * 2.5),
        ("carbon_footprint", 40 + i % 97),
        ("recycled_content", i % 60),
        ("warranty_years", 5 + i % 10),
        ("hazardous", i % 7 == 0),
        ("manufacture_date", f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}"),
        ("safety_datasheet", f"https://acme.example/sds/{i}.pdf"),
        ("unit_cost", 2000 + i % 1500),
    ]


def textile_values(i: int) -> list[tuple[str, object]]:
    """Valid values of the textile template for bulk passport ``i``."""
    return [
        ("fiber_composition", f"{90 + i % 10}% organic cotton, {10 - i % 10}% elastane"),
        ("country_of_origin", ("PT", "TR", "IN", "BD", "VN")[i % 5]),
        ("organic", i % 3 != 0),
        ("water_usage", 1500 + i % 2000),
        ("supplier_name", f"Supplier {i % 50}"),
        ("audit_certificate", f"https://greenloop.example/audits/{i}.pdf"),
        ("production_cost", 3 + (i % 90) / 10),
    ]


VALUES_OF = {"batteries": battery_values, "textiles": textile_values}


def _category_name(key: str) -> str:
    return next(c.name for c in demo.CATEGORIES if c.key == key)


def plan(products: int, published_share: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict]]:
    """The product, passport and version rows of ``products`` bulk products (one passport each)."""
    product_rows: list[dict[str, Any]] = []
    passport_rows: list[dict[str, Any]] = []
    version_rows: list[dict[str, Any]] = []
    snapshots = {key: template_snapshot(demo.template(t)) for key, t in TEMPLATE_OF.items()}
    index = 0
    for tenant_key, share, categories in TENANTS:
        tenant_id = demo.tenant(tenant_key).id
        count = round(products * share) if tenant_key != TENANTS[-1][0] else products - index
        for n in range(count):
            i = index + n
            category = categories[n % len(categories)]
            label, sku = LABEL_OF[category]
            product_id = stable_id("bench-product", tenant_key, str(i))
            stamp = EPOCH + timedelta(seconds=i)
            name = f"{label} {i:06d}"
            product_rows.append(
                {
                    "id": product_id,
                    "tenant_id": tenant_id,
                    "name": name,
                    "description": f"{name} ({sku}-{i:06d}), bench data",
                    "sku": f"{sku}-{i:06d}",
                    "category_id": stable_id("category", category),
                    "is_enabled": i % 11 != 0,
                    "is_featured": False,
                    "attributes": {"line": label, "bench": True, "batch": i % 100},
                    "version": 1,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
            template = demo.template(TEMPLATE_OF[category])
            fields = snapshots[category]
            values, errors = apply_values(fields, {}, VALUES_OF[category](i))
            if errors:
                raise SystemExit(f"bench seed: passport {i}: {errors}")
            passport_id = stable_id("bench-passport", tenant_key, str(i))
            public_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:dpp:bench-passport:{passport_id}"))
            published = (i * 7919) % 1000 < published_share * 1000
            versions = (1 + (i % 5 == 0)) if published else 0
            previous: str | None = None
            latest: dict[str, Any] | None = None
            for number in range(1, versions + 1):
                content = VersionContent(
                    passport_id=passport_id,
                    uuid=public_uuid,
                    name=f"BENCH_{i:06d}",
                    product_id=product_id,
                    template_id=template.id,
                    version=number,
                    values=values,
                    previous_hash=previous,
                ).canonical()
                digest = sha256_hex(content)
                latest = {
                    "id": stable_id("bench-version", passport_id, str(number)),
                    "tenant_id": tenant_id,
                    "passport_id": passport_id,
                    "number": number,
                    "values": values,
                    "content": content,
                    "content_hash": digest,
                    "previous_hash": previous,
                    "published_at": stamp + timedelta(days=number),
                    "published_by": None,
                    "product_name": name,
                    "product_category": _category_name(category),
                }
                version_rows.append(latest)
                previous = digest
            passport_rows.append(
                {
                    "id": passport_id,
                    "tenant_id": tenant_id,
                    "uuid": public_uuid,
                    "name": f"BENCH_{i:06d}",
                    "product_id": product_id,
                    "template_id": template.id,
                    "template_version": template.version,
                    "category_id": template.category_id,
                    "status": "PUBLISHED" if published else "DRAFT",
                    "values": values,
                    "template_fields": snapshot_to_json(fields),
                    "version": 2 + versions,
                    "published_version": versions,
                    "published_at": latest["published_at"] if latest else None,
                    "content_hash": latest["content_hash"] if latest else None,
                    "previous_hash": latest["previous_hash"] if latest else None,
                    "created_at": stamp,
                    "updated_at": latest["published_at"] if latest else stamp,
                }
            )
        index += count
    return product_rows, passport_rows, version_rows


async def insert(url: str, model: type, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (keyed by attribute name) into ``model``'s table, ``CHUNK`` at a time."""
    database = Database(url)
    try:
        for start in range(0, len(rows), CHUNK):
            async with database.system_session() as session:
                await session.execute(sa.insert(model), rows[start : start + CHUNK])
    finally:
        await database.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/dpp/seed.py")
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--published-share", type=float, default=0.9)
    args = parser.parse_args(argv)
    started = time.monotonic()
    settings = {name: Settings.from_env(name) for name in SERVICE_NAMES}
    for name in SERVICE_NAMES:
        prepare(name, settings[name], seed=True)
    products, passports, versions = plan(args.products, args.published_share)

    async def bulk() -> None:
        await insert(settings["catalog"].database_url, Product, products)
        await insert(settings["passport"].database_url, Passport, passports)
        await insert(settings["passport"].database_url, PassportVersion, versions)

    asyncio.run(bulk())
    published = [p["uuid"] for p in passports if p["status"] == "PUBLISHED"]
    demo_published = [p.public_uuid for p in demo.PASSPORTS if p.published_versions]
    print(
        json.dumps(
            {
                "products": len(products) + len(demo.PRODUCTS),
                "passports": len(passports) + len(demo.PASSPORTS),
                "versions": len(versions),
                "published_uuids": published + demo_published,
                "seconds": round(time.monotonic() - started, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
