"""GraphQL surface of the passport subgraph: Passport, its versions and audit trail, the public view.

Resolvers stay thin: reads go through the per-request loaders, writes through
:mod:`subgraphs.passport.domain` inside :func:`~subgraphs.common.audit.run_mutation`.
``Product``, ``Template``, ``Tenant`` and ``User`` are other subgraphs' entities,
declared here by key only (plus the fields this subgraph adds to them).

Authorization is declared with the federation directives and enforced by the gateway
and again here (:mod:`subgraphs.common.authz`):

* ``Passport`` is ``@authenticated``: nothing of a tenant's passport is public except
  through ``publicPassport`` (PUBLIC fields of the latest published version), and an
  anonymous ``_entities`` call resolves no passport.
* A value is readable at its field's access level: PUBLIC values in ``value`` /
  ``values``; RESTRICTED values in ``restrictedValue`` / ``restrictedValues``, which
  need the ``passport:restricted`` scope (authorities and recyclers) or
  ``passport:write`` (the tenant's own writers); CONFIDENTIAL values in
  ``confidentialValue`` / ``confidentialValues``, which need the
  ``passport.confidential:read`` policy. Texts that hold every value (a version's
  ``content``, audit ``before``/``after``) need both.
* Changes need ``passport:write``; publishing also the ``passport:publish`` policy,
  revoking the ``passport:revoke`` policy (Admins by default; Managers when granted).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from subgraphs.common.audit import AuditRecord, event_table, run_mutation
from subgraphs.common.authz import authenticated, policy, requires_scopes
from subgraphs.common.context import RequestContext
from subgraphs.common.errors import not_found
from subgraphs.common.graphql import SubgraphSchema, build_schema
from subgraphs.common.pagination import Connection, build_connection, page_size, page_window
from subgraphs.common.tags import PARTNER, internal, partner
from subgraphs.passport import domain, loaders, repository
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
from subgraphs.passport.peers import HttpPeers
from subgraphs.passport.public_cache import load_public_view, public_views
from subgraphs.passport.snapshots import Snapshot, snapshots_of

# Who may read values above PUBLIC (see the module docstring).
READ_RESTRICTED = requires_scopes("passport:restricted", "passport:write")
READ_CONFIDENTIAL = policy("passport.confidential:read")
READ_ALL = READ_RESTRICTED + READ_CONFIDENTIAL


def _utc(value: datetime | None) -> datetime | None:
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


# Same names, values and descriptions as the templates subgraph's enums, so the
# supergraph has one FieldType and one AccessLevel.
@strawberry.enum(description="Value type of a template field.")
class FieldType(Enum):
    STRING = "STRING"
    TEXT = "TEXT"
    NUMBER = "NUMBER"
    INTEGER = "INTEGER"
    BOOLEAN = "BOOLEAN"
    DATE = "DATE"
    URL = "URL"
    ENUM = "ENUM"


@strawberry.enum(description="Who may read a field's value on a passport.")
class AccessLevel(Enum):
    PUBLIC = "PUBLIC"
    RESTRICTED = "RESTRICTED"
    CONFIDENTIAL = "CONFIDENTIAL"


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


@strawberry.type(directives=partner(), description="One value of a passport: the field key and its JSON value.")
class PassportValue:
    """A field key with its value."""

    key: str
    value: JSON


@strawberry.type(
    directives=partner(), description="A field of the passport's template version (snapshot) with the passport's value."
)
class PassportField:
    """Definition and current value of one field."""

    field_id: strawberry.ID = strawberry.field(description="The TemplateField id in the templates subgraph.")
    key: str
    label: str
    type: FieldType
    access: AccessLevel
    unit: str | None
    required: bool
    min: float | None
    max: float | None
    pattern: str | None
    enum_values: list[str] | None
    position: int
    # Plain data, set by _field_view for the field's own access level only: a listing completes one per
    # field of every passport, and Strawberry's resolver path cost several times a data field's.
    value: JSON | None = strawberry.field(
        default=None, description="The value of a PUBLIC field; null while unset and for the other access levels."
    )
    restricted_value: JSON | None = strawberry.field(
        default=None,
        directives=READ_RESTRICTED,
        description="The value of a RESTRICTED field (scope passport:restricted or passport:write); "
        "null while unset and for the other access levels.",
    )
    confidential_value: JSON | None = strawberry.field(
        default=None,
        directives=READ_CONFIDENTIAL,
        description="The value of a CONFIDENTIAL field (policy passport.confidential:read); "
        "null while unset and for the other access levels.",
    )


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
            published_at=_utc(row.published_at),  # type: ignore[arg-type]
            published_by=User(id=strawberry.ID(row.published_by)) if row.published_by else None,
            split=values_by_access(fields, hashed_values(row.content)),
        )

    @strawberry.field(description="The PUBLIC values of this version, read from `content`.")
    def values(self) -> list[PassportValue]:
        return _values(self.split[PUBLIC])

    @strawberry.field(directives=READ_RESTRICTED, description="The RESTRICTED values of this version.")
    def restricted_values(self) -> list[PassportValue] | None:
        return _values(self.split[RESTRICTED])

    @strawberry.field(directives=READ_CONFIDENTIAL, description="The CONFIDENTIAL values of this version.")
    def confidential_values(self) -> list[PassportValue] | None:
        return _values(self.split[CONFIDENTIAL])


def _values(values: dict[str, Any]) -> list[PassportValue]:
    return [PassportValue(key=k, value=v) for k, v in sorted(values.items())]


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
            created_at=_utc(row.created_at),  # type: ignore[arg-type]
        )


def _field_base(definition: FieldDefinition) -> dict[str, Any]:
    """A field's view without its value (the same for every passport of a template version)."""
    return {
        "field_id": strawberry.ID(definition.id),
        "key": definition.key,
        "label": definition.label,
        "type": FieldType(definition.type),
        "access": AccessLevel(definition.access),
        "unit": definition.unit,
        "required": definition.required,
        "min": definition.min,
        "max": definition.max,
        "pattern": definition.pattern,
        "enum_values": list(definition.enum_values) if definition.type == "ENUM" else None,
        "position": definition.position,
    }


def _field_with(base: dict[str, Any], access: str, value: Any) -> PassportField:
    return PassportField(
        **base,
        value=value if access == PUBLIC else None,
        restricted_value=value if access == RESTRICTED else None,
        confidential_value=value if access == CONFIDENTIAL else None,
    )


def _field_view(definition: FieldDefinition, value: Any) -> PassportField:
    return _field_with(_field_base(definition), definition.access, value)


FieldBases = list[tuple[str, str, dict[str, Any]]]  # per definition: key, access level, _field_base


def _field_bases(snapshot: Snapshot) -> FieldBases:
    """The fields' views without values, made once per snapshot and request (kept on the snapshot)."""
    bases: FieldBases | None = snapshot.derived.get("fields")
    if bases is None:
        bases = snapshot.derived["fields"] = [(d.key, d.access, _field_base(d)) for d in snapshot.definitions]
    return bases


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
    row: strawberry.Private[PassportRow]
    # The row's field snapshot, read once per passport however many fields ask (see _definitions).
    definitions: strawberry.Private[list[FieldDefinition] | None] = None
    # The request's parsed snapshot of the row's template version (subgraphs/passport/snapshots.py), if known.
    snapshot: strawberry.Private[Snapshot | None] = None

    @classmethod
    def from_row(cls, row: PassportRow, snapshot: Snapshot | None = None) -> Passport:
        """The GraphQL view of a passport row (``snapshot``: its template snapshot, parsed already)."""
        return cls(
            id=strawberry.ID(row.id),
            uuid=row.uuid,
            name=row.name,
            status=PassportStatus(row.status),
            version=row.version,
            template_version=row.template_version,
            published_version=row.published_version or None,
            published_at=_utc(row.published_at),
            content_hash=row.content_hash,
            previous_hash=row.previous_hash,
            revoked_at=_utc(row.revoked_at),
            revocation_reason=row.revocation_reason,
            archived_at=_utc(row.archived_at),
            created_at=_utc(row.created_at),  # type: ignore[arg-type]
            updated_at=_utc(row.updated_at),  # type: ignore[arg-type]
            row=row,
            definitions=None if snapshot is None else snapshot.definitions,
            snapshot=snapshot,
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
        values = self.row.values or {}
        if self.snapshot is not None:
            return [_field_with(base, access, values.get(key)) for key, access, base in _field_bases(self.snapshot)]
        return [_field_view(f, values.get(f.key)) for f in self._definitions()]

    def _split(self) -> dict[str, dict[str, Any]]:
        if self.snapshot is not None:
            return split_by_access(self.snapshot.access, self.row.values or {})
        return values_by_access(self._definitions(), self.row.values or {})

    @strawberry.field(description="The current (working) PUBLIC values that are set, by key.")
    def values(self) -> list[PassportValue]:
        return _values(self._split()[PUBLIC])

    @strawberry.field(directives=READ_RESTRICTED, description="The current RESTRICTED values that are set, by key.")
    def restricted_values(self) -> list[PassportValue] | None:
        return _values(self._split()[RESTRICTED])

    @strawberry.field(directives=READ_CONFIDENTIAL, description="The current CONFIDENTIAL values that are set, by key.")
    def confidential_values(self) -> list[PassportValue] | None:
        return _values(self._split()[CONFIDENTIAL])

    @strawberry.field(description="Keys of required fields still without a value (publishing needs none).")
    def missing_required_fields(self) -> list[str]:
        return missing_required(self._definitions(), self.row.values or {})

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


@strawberry.type(directives=partner(), description="A PUBLIC field of the latest published version and its value.")
class PublicPassportField:
    """What the public may read about one field."""

    key: str
    label: str
    type: FieldType
    unit: str | None
    value: JSON | None = strawberry.field(description="null when the field was left empty.")


@strawberry.type(
    directives=partner(),
    description="The product of a published passport as it was when that version was published: the same for "
    "everyone, kept by the passport subgraph (the catalog's Product is private to its tenant)."
)
class PublicProduct:
    """The public face of a product, captured at publish time."""

    name: str
    category: str | None = strawberry.field(description="The name of the product's category.")


@strawberry.type(
    directives=partner(),
    description="The public view behind a passport's QR code: the latest published version, PUBLIC fields only. "
    "A revoked passport stays readable with status REVOKED and the reason."
)
class PublicPassport:
    """A published passport as anyone sees it."""

    uuid: str
    name: str
    status: PassportStatus
    version: int = strawberry.field(description="Number of the published version shown.")
    published_at: datetime
    content_hash: str
    previous_hash: str | None
    revoked_at: datetime | None
    revocation_reason: str | None
    archived_at: datetime | None
    template_version: int
    fields: list[PublicPassportField]
    product: PublicProduct | None = strawberry.field(
        description="The product's name and category when this version was published, the same for everyone; "
        "null for versions published before the product was recorded, or while the catalog was unreachable."
    )
    template_id: strawberry.Private[str]

    @strawberry.field(description="The template version (null when the templates subgraph does not show it).")
    def template(self) -> Template | None:
        return Template(id=strawberry.ID(self.template_id))

    @classmethod
    def from_view(cls, view: domain.PublicView) -> PublicPassport:
        """The GraphQL form of the domain's public view."""
        return cls(
            uuid=view.uuid,
            name=view.name,
            status=PassportStatus(view.status),
            version=view.version,
            published_at=_utc(view.published_at),  # type: ignore[arg-type]
            content_hash=view.content_hash,
            previous_hash=view.previous_hash,
            revoked_at=_utc(view.revoked_at),
            revocation_reason=view.revocation_reason,
            archived_at=_utc(view.archived_at),
            template_version=view.template_version,
            fields=[
                PublicPassportField(
                    key=f.definition.key,
                    label=f.definition.label,
                    type=FieldType(f.definition.type),
                    unit=f.definition.unit,
                    value=f.value,
                )
                for f in view.fields
            ],
            product=PublicProduct(name=view.product_name, category=view.product_category)
            if view.product_name is not None
            else None,
            template_id=view.template_id,
        )


@strawberry.input(description="Which passports to list; every condition given must hold.")
class PassportFilter:
    """Conditions of the passports query."""

    status: PassportStatus | None = None
    product_id: strawberry.ID | None = None
    template_id: strawberry.ID | None = None
    name_contains: str | None = strawberry.field(default=None, description="Case-insensitive part of the name.")


@strawberry.input(description="A value for one field: the field key and a JSON value (null clears the field).")
class FieldValueInput:
    """One submitted value."""

    key: str
    value: JSON | None = None


@strawberry.input(description="A new passport: a product of your tenant and a PUBLISHED template of its category.")
class CreatePassportInput:
    """Arguments of createPassport."""

    name: str = strawberry.field(description="Matches ^[A-Z][A-Z0-9_]{2,49}$; unique in the tenant.")
    product_id: strawberry.ID
    template_id: strawberry.ID = strawberry.field(description="A Template id, i.e. one template version.")
    values: list[FieldValueInput] | None = None


def _pairs(values: list[FieldValueInput] | None) -> list[tuple[str, Any]]:
    return [(v.key, v.value) for v in values or ()]


@strawberry.type
class Query:
    """Passport reads."""

    @strawberry.field(
        directives=[*authenticated(), *partner()], description="A passport of your tenant; NOT_FOUND otherwise."
    )
    async def passport(self, info: strawberry.Info, id: strawberry.ID) -> Passport | None:
        ctx: RequestContext = info.context
        ctx.caller.require_tenant()
        row = await loaders.passport_by_id(ctx).load(str(id))
        if row is None:
            raise not_found("Passport", str(id))
        return Passport.shared(info, row)

    @strawberry.field(
        directives=[*authenticated(), page_size(), *partner()], description="Your tenant's passports, by name."
    )
    async def passports(
        self,
        info: strawberry.Info,
        filter: PassportFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Passport]:
        ctx: RequestContext = info.context
        ctx.caller.require_tenant()
        offset, limit = page_window(first, after)
        flt = filter or PassportFilter()
        page, total = await repository.list_passports(
            ctx.session,
            repository.PassportFilter(
                status=flt.status.value if flt.status else None,
                product_id=str(flt.product_id) if flt.product_id else None,
                template_id=str(flt.template_id) if flt.template_id else None,
                name_contains=flt.name_contains,
            ),
            offset=offset,
            limit=limit,
            snapshots=snapshots_of(ctx.extra),
        )
        return build_connection([Passport.from_row(r, snapshot) for r, snapshot in page], offset=offset, total=total)

    @strawberry.field(
        directives=partner(),
        description="The public view of a passport by its uuid (no login needed): PUBLIC fields of the latest "
        "published version. NOT_FOUND for unknown uuids and passports never published."
    )
    async def public_passport(self, info: strawberry.Info, uuid: str) -> PublicPassport | None:
        ctx: RequestContext = info.context
        # Cached until the passport changes (subgraphs/passport/public_cache.py).
        view = await public_views(ctx.service).get(uuid, lambda: load_public_view(ctx, uuid))
        return PublicPassport.from_view(view)


MutationWork = Callable[[AuditRecord], Awaitable[PassportRow]]


def _event_attributes(row: PassportRow) -> dict[str, object]:
    return {"status": row.status, "productId": row.product_id, "templateId": row.template_id, "uuid": row.uuid}


# The passport event each mutation stages for subscriptions (subgraphs/passport/subscriptions.py).
EVENTS = event_table(
    "Passport",
    {
        "createPassport": "created",
        "setPassportValues": "updated",
        "publishPassport": "published",
        "revisePassport": "revised",
        "revokePassport": "revoked",
        "archivePassport": "archived",
    },
    attributes=_event_attributes,
)


async def _mutate(info: strawberry.Info, action: str, work: MutationWork, object_id: str | None = None) -> Passport:
    row = await run_mutation(
        info.context, action=action, object_type="Passport", work=work, object_id=object_id, event=EVENTS[action]
    )
    await public_views(info.context.service).forget(row.uuid)  # committed: drop its public view everywhere
    return Passport.from_row(row)


# Every passport change needs the passport:write scope (Managers and Admins have it).
WRITE = requires_scopes("passport:write")


@strawberry.type
class Mutation:
    """Passport changes; each needs the passport:write scope and the Manager role, and is audited."""

    @strawberry.mutation(
        directives=WRITE, description="A new DRAFT passport for a product from a PUBLISHED template of its category."
    )
    async def create_passport(self, info: strawberry.Info, input: CreatePassportInput) -> Passport:
        ctx: RequestContext = info.context
        peers = HttpPeers(ctx.settings.service_urls, ctx.caller.forwarded_headers())
        return await _mutate(
            info,
            "createPassport",
            lambda record: domain.create_passport(
                ctx.session,
                ctx.caller,
                peers,
                record,
                name=input.name,
                product_id=str(input.product_id),
                template_id=str(input.template_id),
                values=_pairs(input.values),
            ),
        )

    @strawberry.mutation(
        directives=WRITE,
        description="Set (or clear with null) values of a DRAFT; every invalid value is reported in "
        "extensions.fieldErrors. CONFLICT when expectedVersion is stale.",
    )
    async def set_passport_values(
        self, info: strawberry.Info, id: strawberry.ID, expected_version: int, values: list[FieldValueInput]
    ) -> Passport:
        ctx: RequestContext = info.context
        return await _mutate(
            info,
            "setPassportValues",
            lambda record: domain.set_values(
                ctx.session,
                ctx.caller,
                record,
                passport_id=str(id),
                expected_version=expected_version,
                values=_pairs(values),
            ),
            str(id),
        )

    @strawberry.mutation(
        directives=WRITE + policy("passport:publish"),
        description="Publish the DRAFT as the next immutable version: every required field must have a value; "
        "the version's SHA-256 is chained to the previous version's. Needs the passport:publish policy "
        "(Admins; Managers when granted).",
    )
    async def publish_passport(
        self, info: strawberry.Info, id: strawberry.ID, expected_version: int | None = None
    ) -> Passport:
        ctx: RequestContext = info.context
        return await _mutate(
            info,
            "publishPassport",
            lambda record: domain.publish(
                ctx.session,
                ctx.caller,
                HttpPeers(ctx.settings.service_urls, ctx.caller.forwarded_headers()),
                record,
                passport_id=str(id),
                expected_version=expected_version,
            ),
            str(id),
        )

    @strawberry.mutation(
        directives=WRITE,
        description="Start the next version of a PUBLISHED passport: it becomes a DRAFT again while "
        "publicPassport keeps serving the latest published version.",
    )
    async def revise_passport(
        self, info: strawberry.Info, id: strawberry.ID, expected_version: int | None = None
    ) -> Passport:
        ctx: RequestContext = info.context
        return await _mutate(
            info,
            "revisePassport",
            lambda record: domain.revise(
                ctx.session, ctx.caller, record, passport_id=str(id), expected_version=expected_version
            ),
            str(id),
        )

    @strawberry.mutation(
        directives=WRITE + policy("passport:revoke"),
        description="Revoke a published passport for good; the public view shows the reason. Needs the "
        "passport:revoke policy (Admins; Managers when granted).",
    )
    async def revoke_passport(
        self, info: strawberry.Info, id: strawberry.ID, reason: str, expected_version: int | None = None
    ) -> Passport:
        ctx: RequestContext = info.context
        return await _mutate(
            info,
            "revokePassport",
            lambda record: domain.revoke(
                ctx.session, ctx.caller, record, passport_id=str(id), reason=reason, expected_version=expected_version
            ),
            str(id),
        )

    @strawberry.mutation(
        directives=WRITE, description="Archive a published passport (end of life); it stays publicly readable."
    )
    async def archive_passport(
        self, info: strawberry.Info, id: strawberry.ID, expected_version: int | None = None
    ) -> Passport:
        ctx: RequestContext = info.context
        return await _mutate(
            info,
            "archivePassport",
            lambda record: domain.archive(
                ctx.session, ctx.caller, record, passport_id=str(id), expected_version=expected_version
            ),
            str(id),
        )


def build() -> SubgraphSchema:
    """The passport subgraph's federation schema."""
    from subgraphs.passport.subscriptions import Subscription  # it imports this module's types

    return build_schema(
        query=Query, mutation=Mutation, subscription=Subscription, types=[Passport, Product, Template, Tenant, User]
    )
