"""The passport subgraph's object types: Passport with its versions and audit trail, and the entities it touches.

Owns ``PassportStatus``, ``Passport``, ``PassportVersion``, ``PassportAuditEntry`` and the other
subgraphs' entities declared here by key (``Tenant``, ``User``, and ``Product`` and ``Template`` with the
fields this subgraph adds to them): how each is read from its row and how ``_entities`` resolves it.
The field views are in :mod:`subgraphs.passport.schema_fields`; the visibility rules are those of
:mod:`subgraphs.passport.schema`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from subgraphs.common.authz import authenticated
from subgraphs.common.tags import PARTNER, internal, partner
from subgraphs.passport import domain, loaders
from subgraphs.passport.content import (
    CONFIDENTIAL,
    PUBLIC,
    RESTRICTED,
    FieldDefinition,
    StoredVersion,
    chain_is_valid,
    hashed_values,
    missing_required,
    split_by_access,
    values_by_access,
)
from subgraphs.passport.models import AuditEntry as AuditEntryRow
from subgraphs.passport.models import Passport as PassportRow
from subgraphs.passport.models import PassportVersion as PassportVersionRow
from subgraphs.passport.schema_fields import (
    READ_ALL,
    READ_CONFIDENTIAL,
    READ_RESTRICTED,
    PassportField,
    PassportValue,
    field_bases,
    field_view,
    field_with,
    made,
    value_list,
)
from subgraphs.passport.snapshots import Snapshot, snapshots_of

_ROW: Any = object()  # Passport.from_row's values: read them from the row


def utc(value: datetime | None) -> datetime | None:
    """``value`` with its UTC time zone."""
    # SQLite hands back naive datetimes; every stored value is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@strawberry.enum(description="Lifecycle of a passport: DRAFT -> PUBLISHED -> (REVOKED | ARCHIVED).")
class PassportStatus(Enum):
    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"
    REVOKED = "REVOKED"
    ARCHIVED = "ARCHIVED"


@strawberry.federation.type(keys=["id"], description="A tenant (owned by the identity subgraph).")
class Tenant:
    """Reference to identity's Tenant."""

    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Tenant:
        """Any id: this subgraph adds no fields to Tenant."""
        return cls(id=id)


@strawberry.federation.type(keys=["id"], description="A user (owned by the identity subgraph).")
class User:
    """Reference to identity's User."""

    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> User:
        """Any id: this subgraph adds no fields to User."""
        return cls(id=id)


@strawberry.type(directives=partner(), description="A published, immutable version of a passport.")
class PassportVersion:
    """One link of the passport's hash chain."""

    number: int
    content_hash: str = strawberry.field(description="SHA-256 (hex) of `content`.")
    previous_hash: str | None = strawberry.field(description="contentHash of the version before; null for the first.")
    content: str | None = strawberry.field(
        directives=READ_ALL,
        description="The canonical JSON that was hashed (sorted keys, no whitespace, UTF-8): "
        "passportId, uuid, name, productId, templateId, version, values, previousHash. It holds every value, "
        "so it needs what restrictedValues and confidentialValues need.",
    )
    published_at: datetime
    published_by: User | None = strawberry.field(directives=internal())
    split: strawberry.Private[dict[str, dict[str, Any]]]

    @classmethod
    def from_row(cls, row: PassportVersionRow, fields: list[FieldDefinition]) -> PassportVersion:
        """The GraphQL view of a version row; ``fields`` (the passport's snapshot) give each value's level."""
        return cls(
            number=row.number,
            content_hash=row.content_hash,
            previous_hash=row.previous_hash,
            content=row.content,
            published_at=utc(row.published_at),  # type: ignore[arg-type]
            published_by=User(id=strawberry.ID(row.published_by)) if row.published_by else None,
            split=values_by_access(fields, hashed_values(row.content)),
        )

    @strawberry.field(description="The PUBLIC values of this version, read from `content`.")
    def values(self) -> list[PassportValue]:
        return value_list(self.split[PUBLIC])

    @strawberry.field(directives=READ_RESTRICTED, description="The RESTRICTED values of this version.")
    def restricted_values(self) -> list[PassportValue] | None:
        return value_list(self.split[RESTRICTED])

    @strawberry.field(directives=READ_CONFIDENTIAL, description="The CONFIDENTIAL values of this version.")
    def confidential_values(self) -> list[PassportValue] | None:
        return value_list(self.split[CONFIDENTIAL])


@strawberry.type(description="One audited passport mutation, successful or not.")
class PassportAuditEntry:
    """Who did what to the passport, and how it ended."""

    id: strawberry.ID
    action: str
    result: str = strawberry.field(description="OK, or the error code of a failed attempt.")
    message: str | None
    user: User | None
    before: JSON | None = strawberry.field(
        directives=READ_ALL, description="The passport before (every value: needs what content needs)."
    )
    after: JSON | None = strawberry.field(directives=READ_ALL, description="The passport after (every value).")
    correlation_id: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: AuditEntryRow) -> PassportAuditEntry:
        """The GraphQL view of an audit row."""
        return cls(
            id=strawberry.ID(row.id),
            action=row.action,
            result=row.result,
            message=row.message,
            user=User(id=strawberry.ID(row.user_id)) if row.user_id else None,
            before=row.before,
            after=row.after,
            correlation_id=row.correlation_id,
            created_at=utc(row.created_at),  # type: ignore[arg-type]
        )


@strawberry.federation.type(
    keys=["id", "uuid"],
    tags=[PARTNER],
    directives=authenticated(),
    description="A Digital Product Passport: a product, a template version and its values (members of its tenant).",
)
class Passport:
    """A passport as its tenant's members see it (every field, every version)."""

    id: strawberry.ID
    uuid: str = strawberry.field(description="The public identifier (QR code); read it with publicPassport.")
    name: str
    status: PassportStatus
    version: int = strawberry.field(description="Changes with every edit or status change; pass it as expectedVersion.")
    template_version: int = strawberry.field(description="The version number of `template`.")
    published_version: int | None = strawberry.field(
        description="Number of the latest published version; null while never published."
    )
    published_at: datetime | None
    content_hash: str | None = strawberry.field(description="SHA-256 of the latest published version.")
    previous_hash: str | None = strawberry.field(description="The hash the latest published version is chained to.")
    revoked_at: datetime | None
    revocation_reason: str | None
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    row: strawberry.Private[PassportRow | Any]  # a loaded row, or a plain row of a listing's columns
    working_values: strawberry.Private[dict[str, Any]]  # the row's values (decoded by the listing)
    # The row's field snapshot, read once per passport however many fields ask (see _definitions).
    definitions: strawberry.Private[list[FieldDefinition] | None] = None
    # The request's parsed snapshot of the row's template version (subgraphs/passport/snapshots.py), if known.
    snapshot: strawberry.Private[Snapshot | None] = None

    @classmethod
    def from_row(cls, row: PassportRow | Any, snapshot: Snapshot | None = None, values: Any = _ROW) -> Passport:
        """The GraphQL view of a passport row (``snapshot``: its template snapshot, parsed already).

        ``row`` is a loaded ``Passport`` row or a plain row of a listing's columns
        (:func:`~subgraphs.passport.repository.list_passports`), which passes the decoded ``values``.
        """
        return made(
            cls,
            {
                "id": row.id,
                "uuid": row.uuid,
                "name": row.name,
                "status": PassportStatus[row.status],
                "version": row.version,
                "template_version": row.template_version,
                "published_version": row.published_version or None,
                "published_at": utc(row.published_at),
                "content_hash": row.content_hash,
                "previous_hash": row.previous_hash,
                "revoked_at": utc(row.revoked_at),
                "revocation_reason": row.revocation_reason,
                "archived_at": utc(row.archived_at),
                "created_at": utc(row.created_at),
                "updated_at": utc(row.updated_at),
                "row": row,
                "working_values": (row.values if values is _ROW else values) or {},
                "definitions": None if snapshot is None else snapshot.definitions,
                "snapshot": snapshot,
            },
        )

    @classmethod
    def shared(cls, info: strawberry.Info, row: PassportRow) -> Passport:
        """:meth:`from_row`, with the snapshot parsed once per template version in this request."""
        return cls.from_row(row, snapshots_of(info.context.extra).of_row(row))

    @strawberry.field(directives=internal(), description="The owning tenant (null when identity cannot be reached).")
    def tenant(self) -> Tenant | None:
        return Tenant(id=strawberry.ID(self.row.tenant_id))

    @strawberry.field(
        description="The product this passport describes (resolved by the catalog subgraph; null when it cannot "
        "be reached, with an error naming this path)."
    )
    def product(self) -> Product | None:
        return Product(id=strawberry.ID(self.row.product_id))

    @strawberry.field(
        description="The template version the passport was created from (templates subgraph; null when it "
        "cannot be reached)."
    )
    def template(self) -> Template | None:
        return Template(id=strawberry.ID(self.row.template_id))

    def _definitions(self) -> list[FieldDefinition]:
        if self.definitions is None:
            self.definitions = domain.fields_of(self.row)
        return self.definitions

    @strawberry.field(description="Every field of the template version, in template order, with its current value.")
    def fields(self) -> list[PassportField]:
        values = self.working_values
        if self.snapshot is not None:
            return [field_with(base, access, values.get(key)) for key, access, base in field_bases(self.snapshot)]
        return [field_view(f, values.get(f.key)) for f in self._definitions()]

    def _split(self) -> dict[str, dict[str, Any]]:
        if self.snapshot is not None:
            return split_by_access(self.snapshot.access, self.working_values)
        return values_by_access(self._definitions(), self.working_values)

    @strawberry.field(description="The current (working) PUBLIC values that are set, by key.")
    def values(self) -> list[PassportValue]:
        return value_list(self._split()[PUBLIC])

    @strawberry.field(directives=READ_RESTRICTED, description="The current RESTRICTED values that are set, by key.")
    def restricted_values(self) -> list[PassportValue] | None:
        return value_list(self._split()[RESTRICTED])

    @strawberry.field(directives=READ_CONFIDENTIAL, description="The current CONFIDENTIAL values that are set, by key.")
    def confidential_values(self) -> list[PassportValue] | None:
        return value_list(self._split()[CONFIDENTIAL])

    @strawberry.field(description="Keys of required fields still without a value (publishing needs none).")
    def missing_required_fields(self) -> list[str]:
        return missing_required(self._definitions(), self.working_values)

    @strawberry.field(description="Published versions, newest first.")
    async def versions(self, info: strawberry.Info) -> list[PassportVersion]:
        rows = await loaders.versions_by_passport(info.context).load(self.row.id)
        fields = self._definitions()
        return [PassportVersion.from_row(row, fields) for row in rows]

    @strawberry.field(
        description="Recomputes every published version's SHA-256 and its link to the previous one; "
        "false means a stored version was altered."
    )
    async def hash_chain_valid(self, info: strawberry.Info) -> bool:
        rows = await loaders.versions_by_passport(info.context).load(self.row.id)
        stored = [StoredVersion(r.number, r.content, r.content_hash, r.previous_hash) for r in rows]
        return chain_is_valid(self.row.id, stored, self.row.content_hash)

    @strawberry.field(
        directives=internal(), description="This passport's audit trail, newest first (failed attempts included)."
    )
    async def audit_entries(self, info: strawberry.Info) -> list[PassportAuditEntry]:
        rows = await loaders.audit_by_passport(info.context).load(self.row.id)
        return [PassportAuditEntry.from_row(row) for row in rows]

    @classmethod
    async def resolve_reference(
        cls, info: strawberry.Info, id: strawberry.ID | None = None, uuid: str | None = None
    ) -> Passport | None:
        """``_entities`` by id or uuid: ``None`` when missing, another tenant's, or the caller is anonymous."""
        if info.context.caller.is_anonymous:
            return None  # a passport's public side is publicPassport, not this entity
        if id is not None:
            row = await loaders.passport_by_id(info.context).load(str(id))
        elif uuid is not None:
            row = await loaders.passport_by_uuid(info.context).load(str(uuid))
        else:
            row = None
        return None if row is None else cls.shared(info, row)


@strawberry.federation.type(keys=["id"], description="A product (owned by the catalog subgraph).")
class Product:
    """The catalog's Product, extended here with its passports."""

    id: strawberry.ID

    @strawberry.field(directives=authenticated(), description="The caller's passports of this product, by name.")
    async def passports(self, info: strawberry.Info) -> list[Passport] | None:
        rows = await loaders.passports_by_product(info.context).load(str(self.id))
        return [Passport.shared(info, row) for row in rows]

    @strawberry.field(
        directives=authenticated(), description="How many passports of the caller's tenant this product has."
    )
    async def passport_count(self, info: strawberry.Info) -> int | None:
        return int(await loaders.passport_count_by_product(info.context).load(str(self.id)))

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Product:
        """Any id: a product without passports simply has none."""
        return cls(id=id)


@strawberry.federation.type(keys=["id"], description="One version of a template (owned by the templates subgraph).")
class Template:
    """The templates subgraph's Template, extended here with its passport count."""

    id: strawberry.ID

    @strawberry.field(
        directives=authenticated(), description="How many passports of the caller's tenant this template version backs."
    )
    async def passport_count(self, info: strawberry.Info) -> int | None:
        return int(await loaders.passport_count_by_template(info.context).load(str(self.id)))

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Template:
        """Any id: a template version without passports has a count of 0."""
        return cls(id=id)
