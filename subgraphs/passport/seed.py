"""Idempotent demo passports from :mod:`subgraphs.common.demo`.

The seed cannot ask the templates subgraph (it may not be running), so each
passport's field snapshot is built from ``demo.TEMPLATES``, the same data the
templates subgraph seeds (version 1, PUBLISHED, fields at positions 1..n).
Earlier published versions of a demo passport carry the same values as the
latest: they differ by number and by the hash they are chained to.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col

from subgraphs.common import demo
from subgraphs.common.db import Database
from subgraphs.common.ids import stable_id
from subgraphs.common.settings import Settings
from subgraphs.passport.content import FieldDefinition, VersionContent, apply_values, sha256_hex, snapshot_to_json
from subgraphs.passport.models import ARCHIVED, DRAFT, REVOKED, Passport, PassportVersion

# Fixed instants, so seeded rows read the same on every run.
CREATED_AT = datetime(2026, 2, 1, tzinfo=UTC)
FIRST_PUBLISHED_AT = datetime(2026, 3, 1, tzinfo=UTC)
RETIRED_AT = datetime(2026, 6, 1, tzinfo=UTC)
REVOCATION_REASON = "Recalled: cell supplier batch failed conformity testing"


def template_snapshot(template: demo.DemoTemplate) -> list[FieldDefinition]:
    """The field definitions of a demo template version, as the templates subgraph serves them."""
    return [
        FieldDefinition(
            id=field.id_for(template.key),
            key=field.key,
            label=field.label,
            type=field.type,
            access=field.access,
            position=position,
            required=field.required,
            unit=field.unit,
            min=field.min,
            max=field.max,
            pattern=field.pattern,
            enum_values=field.enum_values,
        )
        for position, field in enumerate(template.fields, start=1)
    ]


def publisher_id(tenant_key: str) -> str:
    """The demo user who published a tenant's passports: its first Admin or Manager (not the platform admin)."""
    user = next(
        u
        for u in demo.USERS
        if not u.platform_admin and any(t == tenant_key and {"Admin", "Manager"} & set(r) for t, r in u.memberships)
    )
    return user.id


def version_id(passport: demo.DemoPassport, number: int) -> str:
    """The id of a seeded published version."""
    return stable_id("passport-version", passport.tenant_key, passport.name, str(number))


def product_face(passport: demo.DemoPassport) -> tuple[str, str]:
    """The demo product's name and category name, as the catalog seeds them (stored with each published version)."""
    product = next(p for p in demo.PRODUCTS if p.id == passport.product_id)
    category = next(c for c in demo.CATEGORIES if c.key == product.category_key)
    return product.name, category.name


def build(passport: demo.DemoPassport, index: int) -> tuple[Passport, list[PassportVersion]]:
    """The rows of one demo passport: the passport and its chained published versions."""
    template = demo.template(passport.template_key)
    product_name, product_category = product_face(passport)
    fields = template_snapshot(template)
    values, errors = apply_values(fields, {}, passport.values)
    if errors:  # the demo data is ours: a bad value is a bug in demo.py
        raise ValueError(f"demo passport {passport.name}: {errors}")
    created = CREATED_AT + timedelta(days=index)
    publisher = publisher_id(passport.tenant_key)
    versions: list[PassportVersion] = []
    previous: str | None = None
    for number in range(1, passport.published_versions + 1):
        content = VersionContent(
            passport_id=passport.id,
            uuid=passport.public_uuid,
            name=passport.name,
            product_id=passport.product_id,
            template_id=template.id,
            version=number,
            values=values,
            previous_hash=previous,
        ).canonical()
        digest = sha256_hex(content)
        versions.append(
            PassportVersion(
                id=version_id(passport, number),
                tenant_id=passport.tenant_id,
                passport_id=passport.id,
                number=number,
                values=values,
                content=content,
                content_hash=digest,
                previous_hash=previous,
                published_at=FIRST_PUBLISHED_AT + timedelta(days=index, hours=number),
                published_by=publisher,
                product_name=product_name,
                product_category=product_category,
            )
        )
        previous = digest
    latest = versions[-1] if versions else None
    row = Passport(
        id=passport.id,
        tenant_id=passport.tenant_id,
        uuid=passport.public_uuid,
        name=passport.name,
        product_id=passport.product_id,
        template_id=template.id,
        template_version=template.version,
        category_id=template.category_id,
        status=passport.status,
        values=values,
        template_fields=snapshot_to_json(fields),
        # One change per value set, plus one per publication: a plausible, fixed history length.
        version=1 + (1 if values else 0) + len(versions) + (1 if passport.status in (REVOKED, ARCHIVED) else 0),
        published_version=len(versions),
        published_at=latest.published_at if latest else None,
        content_hash=latest.content_hash if latest else None,
        previous_hash=latest.previous_hash if latest else None,
        revoked_at=RETIRED_AT if passport.status == REVOKED else None,
        revocation_reason=REVOCATION_REASON if passport.status == REVOKED else None,
        archived_at=RETIRED_AT if passport.status == ARCHIVED else None,
        created_by=publisher,
        created_at=created,
        updated_at=latest.published_at if latest and passport.status != DRAFT else created,
    )
    return row, versions


async def seed(database: Database, settings: Settings) -> None:
    """Seed the demo passports with their published versions; existing ids are left alone.

    Demo versions seeded before passport_0004 get their product face filled in (once, where it is NULL).
    """
    async with database.system_session() as session:
        ids = [p.id for p in demo.PASSPORTS]
        stmt = sa.select(col(Passport.id)).where(col(Passport.id).in_(ids))
        have = set((await session.execute(stmt)).scalars())
        for index, passport in enumerate(demo.PASSPORTS):
            if passport.id in have:
                continue
            row, versions = build(passport, index)
            session.add(row)
            await session.flush()
            session.add_all(versions)
        for passport in demo.PASSPORTS:
            if passport.id not in have or not passport.published_versions:
                continue
            name, category = product_face(passport)
            await session.execute(
                sa.update(PassportVersion)
                .where(
                    col(PassportVersion.id).in_(
                        [version_id(passport, n + 1) for n in range(passport.published_versions)]
                    )
                )
                .where(col(PassportVersion.product_name).is_(None))
                .values(product_name=name, product_category=category)
            )
