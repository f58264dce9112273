"""The passport's rules: creation against its product and template, editing, publishing, the status machine.

Status machine::

    DRAFT --publishPassport--> PUBLISHED --revisePassport--> DRAFT (next version)
    PUBLISHED (or a DRAFT revising a published passport) --revokePassport--> REVOKED
    PUBLISHED (or a DRAFT revising a published passport) --archivePassport--> ARCHIVED

Published versions are rows of ``passport_versions`` that nothing ever updates; a
revision works on the passport's values while ``publicPassport`` keeps serving the
latest published version.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from subgraphs.common.audit import AuditRecord
from subgraphs.common.caller import MANAGER, Caller
from subgraphs.common.errors import BadUserInput, Conflict, not_found
from subgraphs.common.ids import utcnow
from subgraphs.common.writes import flush_or_conflict
from subgraphs.passport import repository
from subgraphs.passport.content import (
    NAME_PATTERN,
    PUBLIC,
    FieldDefinition,
    FieldError,
    VersionContent,
    apply_values,
    hashed_values,
    missing_required,
    sha256_hex,
    snapshot_from_json,
    snapshot_to_json,
)
from subgraphs.passport.models import ARCHIVED, DRAFT, PUBLISHED, REVOKED, Passport, PassportVersion
from subgraphs.passport.peers import Peers, PeerUnavailable, ProductInfo

MAX_REASON = 500


def audit_view(passport: Passport) -> dict[str, Any]:
    """The JSON form of a passport in its audit entries (before/after)."""
    return {
        "id": passport.id,
        "name": passport.name,
        "status": passport.status,
        "version": passport.version,
        "values": dict(passport.values or {}),
        "publishedVersion": passport.published_version,
        "contentHash": passport.content_hash,
        "revocationReason": passport.revocation_reason,
    }


def fields_of(passport: Passport) -> list[FieldDefinition]:
    """The template field definitions snapshotted into ``passport``, in template order."""
    return snapshot_from_json(passport.template_fields)


def _invalid_values(errors: Sequence[FieldError]) -> BadUserInput:
    detail = "; ".join(f"{e.key} {e.message}" for e in errors)
    noun = "value is" if len(errors) == 1 else "values are"
    return BadUserInput(
        f"{len(errors)} {noun} invalid: {detail}",
        fieldErrors=[{"key": e.key, "message": e.message} for e in errors],
    )


def _check_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise BadUserInput(
            f"name {name!r} must match ^[A-Z][A-Z0-9_]{{2,49}}$: 3 to 50 characters, an upper-case letter "
            "first, then upper-case letters, digits or underscores",
            argument="name",
        )


async def create_passport(
    session: AsyncSession,
    caller: Caller,
    peers: Peers,
    record: AuditRecord,
    *,
    name: str,
    product_id: str,
    template_id: str,
    values: Sequence[tuple[str, Any]] = (),
) -> Passport:
    """A new DRAFT passport for a product of the caller's tenant from a PUBLISHED template version.

    The template must belong to the product's category. Its field definitions are
    snapshotted into the passport; initial ``values`` are validated against them.
    """
    tenant_id = caller.require_role(MANAGER)
    record.after = None
    _check_name(name)
    if await repository.name_taken(session, name):
        raise Conflict(f"a passport named {name!r} already exists in this tenant", argument="name")
    product = await peers.product(product_id)
    if product is None:
        raise not_found("Product", product_id)
    template = await peers.template(template_id)
    if template is None:
        raise not_found("Template", template_id)
    if template.status != PUBLISHED:
        raise BadUserInput(
            f"template {template.name!r} version {template.version} is {template.status}; "
            "only a PUBLISHED template version can back a passport",
            argument="templateId",
        )
    if template.category_id != product.category_id:
        raise BadUserInput(
            f"template {template.name!r} version {template.version} is not for the category of product "
            f"{product.name!r} ({product.category_name}); choose a template of that category",
            argument="templateId",
        )
    fields = sorted(template.fields, key=lambda f: f.position)
    initial, errors = apply_values(fields, {}, values)
    if errors:
        raise _invalid_values(errors)
    now = utcnow()
    passport = Passport(
        tenant_id=tenant_id,
        uuid=str(uuid_module.uuid4()),
        name=name,
        product_id=product.id,
        template_id=template.id,
        template_version=template.version,
        category_id=product.category_id,
        status=DRAFT,
        values=initial,
        template_fields=snapshot_to_json(fields),
        version=1,
        created_by=caller.user_id,
        created_at=now,
        updated_at=now,
    )
    record.object_id = passport.id
    session.add(passport)
    # Another request may have taken the name between our check and this insert.
    await flush_or_conflict(session, f"a passport named {name!r} already exists in this tenant", argument="name")
    record.after = audit_view(passport)
    return passport


async def _claim(
    session: AsyncSession, caller: Caller, record: AuditRecord, passport_id: str, expected_version: int | None
) -> Passport:
    """Load the caller's passport for a change and take its next version number (or fail)."""
    caller.require_role(MANAGER)
    record.object_id = passport_id
    passport = await repository.get_passport(session, passport_id)
    if passport is None:
        raise not_found("Passport", passport_id)
    record.before = audit_view(passport)
    expected = passport.version if expected_version is None else expected_version
    if expected != passport.version or not await repository.claim_version(session, passport, expected):
        current = await repository.current_version(session, passport_id)
        raise Conflict(
            f"version {expected} of passport {passport.name!r} is stale; the current version is {current}",
            currentVersion=current,
        )
    passport.updated_at = utcnow()
    return passport


def _not_draft(passport: Passport, doing: str) -> Conflict:
    hint = " (start a new version with revisePassport)" if passport.status == PUBLISHED else ""
    return Conflict(
        f"passport {passport.name!r} is {passport.status}; only a DRAFT can be {doing}{hint}", status=passport.status
    )


async def set_values(
    session: AsyncSession,
    caller: Caller,
    record: AuditRecord,
    *,
    passport_id: str,
    expected_version: int,
    values: Sequence[tuple[str, Any]],
) -> Passport:
    """Set (or clear, with ``null``) field values of a DRAFT, validated against its template snapshot."""
    passport = await _claim(session, caller, record, passport_id, expected_version)
    if passport.status != DRAFT:
        raise _not_draft(passport, "edited")
    merged, errors = apply_values(fields_of(passport), passport.values or {}, values)
    if errors:
        raise _invalid_values(errors)
    passport.values = merged
    await session.flush()
    record.after = audit_view(passport)
    return passport


async def _product_face(peers: Peers, product_id: str) -> ProductInfo | None:
    """The product as the catalog shows it to the publisher; ``None`` when the catalog is down or lost it.

    Publishing does not wait for the catalog: the face is a convenience of the public view, not part of the
    hashed record, and a catalog outage must not stop a manufacturer from publishing a passport. Such a
    version shows product null until the next revision is published.
    """
    try:
        return await peers.product(product_id)
    except PeerUnavailable:
        return None


async def publish(
    session: AsyncSession,
    caller: Caller,
    peers: Peers,
    record: AuditRecord,
    *,
    passport_id: str,
    expected_version: int | None,
) -> Passport:
    """Freeze the DRAFT's values as the next published version, hashed and chained to the previous one.

    The product's public face (name, category name) is asked of the catalog on the publisher's behalf and
    stored beside the version, outside the hashed content.
    """
    passport = await _claim(session, caller, record, passport_id, expected_version)
    if passport.status != DRAFT:
        raise _not_draft(passport, "published")
    values = dict(passport.values or {})
    missing = missing_required(fields_of(passport), values)
    if missing:
        raise BadUserInput(
            f"passport {passport.name!r} cannot be published: required fields without a value: {', '.join(missing)}",
            missingFields=missing,
        )
    product = await _product_face(peers, passport.product_id)
    number = passport.published_version + 1
    previous_hash = passport.content_hash if passport.published_version else None
    content = VersionContent(
        passport_id=passport.id,
        uuid=passport.uuid,
        name=passport.name,
        product_id=passport.product_id,
        template_id=passport.template_id,
        version=number,
        values=values,
        previous_hash=previous_hash,
    ).canonical()
    digest = sha256_hex(content)
    now = utcnow()
    session.add(
        PassportVersion(
            tenant_id=passport.tenant_id,
            passport_id=passport.id,
            number=number,
            values=values,
            content=content,
            content_hash=digest,
            previous_hash=previous_hash,
            published_at=now,
            published_by=caller.user_id,
            product_name=product.name if product else None,
            product_category=product.category_name if product else None,
        )
    )
    passport.status = PUBLISHED
    passport.published_version = number
    passport.published_at = now
    passport.content_hash = digest
    passport.previous_hash = previous_hash
    await session.flush()
    record.after = audit_view(passport)
    return passport


async def revise(
    session: AsyncSession, caller: Caller, record: AuditRecord, *, passport_id: str, expected_version: int | None
) -> Passport:
    """Turn a PUBLISHED passport back into a DRAFT for its next version; published versions stay as they are."""
    passport = await _claim(session, caller, record, passport_id, expected_version)
    if passport.status != PUBLISHED:
        raise Conflict(
            f"passport {passport.name!r} is {passport.status}; only a PUBLISHED passport can be revised",
            status=passport.status,
        )
    passport.status = DRAFT
    await session.flush()
    record.after = audit_view(passport)
    return passport


def _check_retirable(passport: Passport, doing: str) -> None:
    if passport.status in (REVOKED, ARCHIVED):
        raise Conflict(f"passport {passport.name!r} is already {passport.status}", status=passport.status)
    if passport.published_version == 0:
        raise Conflict(
            f"passport {passport.name!r} was never published; only a published passport can be {doing}",
            status=passport.status,
        )


async def revoke(
    session: AsyncSession,
    caller: Caller,
    record: AuditRecord,
    *,
    passport_id: str,
    reason: str,
    expected_version: int | None,
) -> Passport:
    """Withdraw a published passport for good, with a reason the public view shows."""
    reason = reason.strip()
    if not reason:
        raise BadUserInput("a reason is required to revoke a passport", argument="reason")
    if len(reason) > MAX_REASON:
        raise BadUserInput(f"the reason must be at most {MAX_REASON} characters", argument="reason")
    passport = await _claim(session, caller, record, passport_id, expected_version)
    _check_retirable(passport, "revoked")
    passport.status = REVOKED
    passport.revoked_at = utcnow()
    passport.revocation_reason = reason
    await session.flush()
    record.after = audit_view(passport)
    return passport


async def archive(
    session: AsyncSession, caller: Caller, record: AuditRecord, *, passport_id: str, expected_version: int | None
) -> Passport:
    """Retire a published passport (product end of life); it stays publicly readable as ARCHIVED."""
    passport = await _claim(session, caller, record, passport_id, expected_version)
    _check_retirable(passport, "archived")
    passport.status = ARCHIVED
    passport.archived_at = utcnow()
    await session.flush()
    record.after = audit_view(passport)
    return passport


@dataclass(frozen=True, slots=True)
class PublicField:
    """A PUBLIC field of a published version and its value (``None`` when not filled)."""

    definition: FieldDefinition
    value: Any


@dataclass(frozen=True, slots=True)
class PublicView:
    """What anyone holding the QR code may read: the latest published version, PUBLIC fields only."""

    uuid: str
    name: str
    status: str
    version: int
    published_at: datetime
    content_hash: str
    previous_hash: str | None
    revoked_at: datetime | None
    revocation_reason: str | None
    archived_at: datetime | None
    product_id: str
    template_id: str
    template_version: int
    fields: tuple[PublicField, ...]
    product_name: str | None = None  # the product's face stored with the version (None before passport_0004)
    product_category: str | None = None


def public_view(uuid: str, row: repository.PublicRow | None) -> PublicView:
    """The public view of a passport at its latest published version (``row``, as the public read found it).

    Unknown uuids and passports never published answer NOT_FOUND. A REVOKED passport
    is still shown, with status REVOKED, the time and the reason: a reader scanning the
    code (a customer, a customs officer, a regulator) must learn that the passport was
    withdrawn and why, not be told it never existed. A DRAFT revising a published
    passport shows its latest published version as PUBLISHED.
    """
    if row is None or row.published_version == 0 or row.number is None:
        raise not_found("Passport", uuid)
    assert row.published_at is not None and row.content is not None and row.content_hash is not None
    status = PUBLISHED if row.status == DRAFT else row.status
    values = hashed_values(row.content)
    fields = tuple(
        PublicField(definition, values.get(definition.key))
        for definition in snapshot_from_json(row.snapshot)
        if definition.access == PUBLIC
    )
    return PublicView(
        uuid=row.uuid,
        name=row.name,
        status=status,
        version=row.number,
        published_at=row.published_at,
        content_hash=row.content_hash,
        previous_hash=row.previous_hash,
        revoked_at=row.revoked_at,
        revocation_reason=row.revocation_reason,
        archived_at=row.archived_at,
        product_id=row.product_id,
        template_id=row.template_id,
        template_version=row.template_version,
        fields=fields,
        product_name=row.product_name,
        product_category=row.product_category,
    )
