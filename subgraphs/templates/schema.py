"""GraphQL surface of the templates subgraph: Template, TemplateField, Category.templates.

Resolvers are thin: reads go through the per-request loaders (one statement per
relation and batch), writes through :class:`~subgraphs.templates.domain.TemplateAuthoring`
inside :func:`~subgraphs.common.audit.run_mutation`.

What is public: PUBLISHED (and DEPRECATED) template versions, the field library and
the templates of a category, to anonymous callers too, also through ``_entities``
(drafts only for platform administrators, filtered in the persistence layer). Every
mutation needs the ``templates:write`` scope (``@requiresScopes``, enforced by the
gateway and again by :mod:`subgraphs.common.authz`); authoring also needs a platform
administrator and enablement a tenant Admin, checked by the domain.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from subgraphs.common.audit import AuditRecord, run_mutation
from subgraphs.common.authz import authenticated, requires_scopes
from subgraphs.common.errors import not_found
from subgraphs.common.graphql import SubgraphSchema, build_schema
from subgraphs.common.pagination import Connection, build_connection, page_size, page_window
from subgraphs.common.tags import PARTNER, internal, partner
from subgraphs.templates import loaders
from subgraphs.templates.domain import FieldSpec, TemplateAuthoring, TemplateChanges, TemplateSpec
from subgraphs.templates.models import AccessLevel, AuditEntry, FieldType, TemplateFieldRow, TemplateRow, TemplateStatus
from subgraphs.templates.repository import TemplateFilter, TemplateRepository

# The domain enums are the GraphQL enums (strawberry.enum registers them in place).
strawberry.enum(TemplateStatus, description="Lifecycle of a template version.")
strawberry.enum(FieldType, description="Value type of a template field.")
strawberry.enum(AccessLevel, description="Who may read a field's value on a passport.")


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; every stored value is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _repository(info: strawberry.Info) -> TemplateRepository:
    return TemplateRepository(info.context.session, info.context.caller)


@strawberry.federation.type(keys=["id"], tags=[PARTNER], description="A typed field definition of the field library.")
class TemplateField:
    """One field definition; ``position`` is its place in the template it was reached through."""

    id: strawberry.ID
    key: str = strawberry.field(description="snake_case key, unique within a template.")
    label: str
    type: FieldType
    unit: str | None
    required: bool
    min: float | None
    max: float | None
    pattern: str | None = strawberry.field(description="Regular expression a STRING/TEXT/URL value must match.")
    enum_values: list[str] | None = strawberry.field(description="Allowed values of an ENUM field; null otherwise.")
    access: AccessLevel
    position: int = strawberry.field(
        description="1-based position within the template this field was read through; 0 when read from the library."
    )
    created_at: datetime

    @classmethod
    def from_row(cls, row: TemplateFieldRow, position: int = 0) -> TemplateField:
        """The GraphQL view of a library row."""
        return cls(
            id=strawberry.ID(row.id),
            key=row.key,
            label=row.label,
            type=FieldType(row.type),
            unit=row.unit,
            required=row.required,
            min=row.min,
            max=row.max,
            pattern=row.pattern,
            enum_values=list(row.enum_values) if row.type == FieldType.ENUM.value and row.enum_values else None,
            access=AccessLevel(row.access),
            position=position,
            created_at=_utc(row.created_at),  # type: ignore[arg-type]
        )

    @classmethod
    async def resolve_reference(cls, info: strawberry.Info, id: strawberry.ID) -> TemplateField | None:
        """``_entities`` for TemplateField (library view, position 0)."""
        row = await loaders.field_by_id(info.context).load(str(id))
        return None if row is None else cls.from_row(row)


@strawberry.federation.type(keys=["id"], tags=[PARTNER], description="One version of a template.")
class Template:
    """One version of a template: a named, ordered list of typed fields for one category."""

    id: strawberry.ID
    lineage_id: strawberry.ID = strawberry.field(description="Shared by every version of this template.")
    name: str
    description: str
    version: int
    status: TemplateStatus
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    deprecated_at: datetime | None
    category_id: strawberry.Private[str]

    @classmethod
    def from_row(cls, row: TemplateRow) -> Template:
        """The GraphQL view of a template version row."""
        return cls(
            id=strawberry.ID(row.id),
            lineage_id=strawberry.ID(row.lineage_id),
            name=row.name,
            description=row.description,
            version=row.version,
            status=TemplateStatus(row.status),
            created_at=_utc(row.created_at),  # type: ignore[arg-type]
            updated_at=_utc(row.updated_at),  # type: ignore[arg-type]
            published_at=_utc(row.published_at),
            deprecated_at=_utc(row.deprecated_at),
            category_id=row.category_id,
        )

    @strawberry.field(
        description="The category this template is for (resolved by the catalog subgraph; null when it cannot "
        "be reached)."
    )
    def category(self) -> Category | None:
        return Category(id=strawberry.ID(self.category_id))

    @strawberry.field(description="The fields of this version, in order.")
    async def fields(self, info: strawberry.Info) -> list[TemplateField]:
        placed = await loaders.fields_by_template(info.context).load(str(self.id))
        return [TemplateField.from_row(p.row, p.position) for p in placed]

    @strawberry.field(description="Whether the caller's tenant has enabled this template (false when anonymous).")
    async def enabled_for_my_tenant(self, info: strawberry.Info) -> bool:
        if info.context.caller.tenant_id is None:
            return False
        return await loaders.enablement_by_lineage(info.context).load(str(self.lineage_id)) is not None

    @strawberry.field(description="Every version of this template the caller may see, oldest first.")
    async def versions(self, info: strawberry.Info) -> list[Template]:
        rows = await loaders.templates_by_lineage(info.context).load(str(self.lineage_id))
        return [Template.from_row(row) for row in rows]

    @classmethod
    async def resolve_reference(cls, info: strawberry.Info, id: strawberry.ID) -> Template | None:
        """``_entities`` for Template: ``None`` for missing versions and drafts the caller may not see."""
        row = await loaders.template_by_id(info.context).load(str(id))
        return None if row is None else cls.from_row(row)


@strawberry.federation.type(keys=["id"], description="A product category (owned by the catalog subgraph).")
class Category:
    """The catalog's Category, extended here with its templates."""

    id: strawberry.ID

    @strawberry.field(description="Template versions for this category the caller may see, by name then version.")
    async def templates(self, info: strawberry.Info, status: TemplateStatus | None = None) -> list[Template] | None:
        rows = await loaders.templates_by_category(info.context).load(str(self.id))
        # Filtered after loading so that every category of a request shares one statement.
        return [Template.from_row(row) for row in rows if status is None or row.status == status.value]

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Category:
        """Any category id: templates of an unknown category are simply none."""
        return cls(id=id)


@strawberry.type(description="One audited template mutation.")
class TemplateAuditEntry:
    """Who did what to which template object, and how it ended."""

    id: strawberry.ID
    tenant_id: strawberry.ID | None
    user_id: strawberry.ID | None
    action: str
    object_type: str
    object_id: strawberry.ID | None
    before: JSON | None
    after: JSON | None
    result: str
    message: str | None
    correlation_id: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: AuditEntry) -> TemplateAuditEntry:
        """The GraphQL view of an audit row."""
        return cls(
            id=strawberry.ID(row.id),
            tenant_id=row.tenant_id,  # type: ignore[arg-type]
            user_id=row.user_id,  # type: ignore[arg-type]
            action=row.action,
            object_type=row.object_type,
            object_id=row.object_id,  # type: ignore[arg-type]
            before=row.before,
            after=row.after,
            result=row.result,
            message=row.message,
            correlation_id=row.correlation_id,
            created_at=_utc(row.created_at),  # type: ignore[arg-type]
        )


# -- inputs --------------------------------------------------------------------------------


@strawberry.input(description="A new field definition for the library.")
class CreateTemplateFieldInput:
    """Fields of a new library field; validation depends on ``type``."""

    key: str
    label: str
    type: FieldType
    access: AccessLevel = AccessLevel.PUBLIC
    required: bool = False
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    enum_values: list[str] | None = None


@strawberry.input(description="A new template: its first version, created as a DRAFT.")
class CreateTemplateInput:
    """Name, category and the ordered library field ids of a new template."""

    name: str
    category_id: strawberry.ID
    field_ids: list[strawberry.ID]
    description: str = ""


@strawberry.input(description="Changes to a template draft; omitted fields keep their value.")
class UpdateTemplateDraftInput:
    """Only the given parts change; ``fieldIds`` replaces the whole ordered list."""

    name: str | None = None
    description: str | None = None
    category_id: strawberry.ID | None = None
    field_ids: list[strawberry.ID] | None = None


# -- root types ----------------------------------------------------------------------------


@strawberry.type
class Query:
    """Reads of templates and the field library."""

    @strawberry.field(
        directives=partner(), description="One template version; NOT_FOUND when missing or a draft you may not see."
    )
    async def template(self, info: strawberry.Info, id: strawberry.ID) -> Template:
        row = await loaders.template_by_id(info.context).load(str(id))
        if row is None:
            raise not_found("template", str(id))
        return Template.from_row(row)

    @strawberry.field(
        description="Template versions by name then version, filtered.", directives=[page_size(), *partner()]
    )
    async def templates(
        self,
        info: strawberry.Info,
        status: TemplateStatus | None = None,
        category_id: strawberry.ID | None = None,
        lineage_id: strawberry.ID | None = None,
        enabled_only: bool = False,
        latest_only: bool = False,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Template]:
        offset, limit = page_window(first, after)
        repo = _repository(info)
        lineage_ids = None
        if enabled_only:
            info.context.caller.require_tenant()
            lineage_ids = await repo.enabled_lineage_ids()
        flt = TemplateFilter(
            status=status.value if status is not None else None,
            category_id=str(category_id) if category_id is not None else None,
            lineage_id=str(lineage_id) if lineage_id is not None else None,
            lineage_ids=lineage_ids,
            latest_only=latest_only,
        )
        rows, total = await repo.list_templates(flt, offset, limit)
        return build_connection([Template.from_row(row) for row in rows], offset=offset, total=total)

    @strawberry.field(directives=partner(), description="One library field (position 0); NOT_FOUND when missing.")
    async def template_field(self, info: strawberry.Info, id: strawberry.ID) -> TemplateField:
        row = await loaders.field_by_id(info.context).load(str(id))
        if row is None:
            raise not_found("template field", str(id))
        return TemplateField.from_row(row)

    @strawberry.field(description="The field library by key.", directives=[page_size(), *partner()])
    async def template_fields(
        self,
        info: strawberry.Info,
        type: FieldType | None = None,
        key: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[TemplateField]:
        offset, limit = page_window(first, after)
        rows, total = await _repository(info).list_fields(
            field_type=type.value if type is not None else None, key=key, offset=offset, limit=limit
        )
        return build_connection([TemplateField.from_row(row) for row in rows], offset=offset, total=total)

    @strawberry.field(
        directives=[*authenticated(), page_size(), *internal()],
        description="The templates audit trail, newest first (platform administrators only).",
    )
    async def template_audit_log(
        self,
        info: strawberry.Info,
        object_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[TemplateAuditEntry]:
        info.context.caller.require_platform_admin()
        offset, limit = page_window(first, after)
        rows, total = await _repository(info).audit_entries(
            str(object_id) if object_id is not None else None, offset, limit
        )
        return build_connection([TemplateAuditEntry.from_row(row) for row in rows], offset=offset, total=total)


def _authoring(info: strawberry.Info) -> TemplateAuthoring:
    return TemplateAuthoring(_repository(info), info.context.caller)


# The event kind each template mutation stages for subscriptions (subgraphs/templates/subscriptions.py).
EVENT_KINDS = {
    "createTemplate": "created",
    "updateTemplateDraft": "updated",
    "reviseTemplate": "revised",
    "publishTemplate": "published",
    "deprecateTemplate": "deprecated",
    "enableTemplate": "enabled",
    "disableTemplate": "disabled",
}


async def _mutate(info: strawberry.Info, action: str, object_type: str, work: Any, object_id: str | None = None) -> Any:
    kind = EVENT_KINDS.get(action)

    async def staged(record: AuditRecord) -> Any:
        row = await work(record)
        if kind is not None:
            # Templates are the platform's (no tenant); enabling one is the acting tenant's own event.
            tenant_id = info.context.caller.tenant_id if object_type == "TemplateEnablement" else None
            record.emit("Template", row.id, kind, tenant_id, categoryId=row.category_id, lineageId=row.lineage_id)
        return row

    return await run_mutation(info.context, action=action, object_type=object_type, work=staged, object_id=object_id)


# Every template change needs the templates:write scope (Managers and Admins have it).
WRITE = requires_scopes("templates:write")


@strawberry.type
class Mutation:
    """Template authoring (platform administrators) and enablement (tenant Admins)."""

    @strawberry.mutation(
        directives=WRITE, description="Add a field definition to the library (platform administrators)."
    )
    async def create_template_field(self, info: strawberry.Info, input: CreateTemplateFieldInput) -> TemplateField:
        spec = FieldSpec(
            key=input.key,
            label=input.label,
            type=input.type.value,
            access=input.access.value,
            required=input.required,
            unit=input.unit,
            min=input.min,
            max=input.max,
            pattern=input.pattern,
            enum_values=input.enum_values,
        )

        async def work(record: AuditRecord) -> TemplateFieldRow:
            return await _authoring(info).create_field(spec, record)

        row = await _mutate(info, "createTemplateField", "TemplateField", work)
        return TemplateField.from_row(row)

    @strawberry.mutation(
        directives=WRITE, description="Create a template as a DRAFT version 1 (platform administrators)."
    )
    async def create_template(self, info: strawberry.Info, input: CreateTemplateInput) -> Template:
        spec = TemplateSpec(
            name=input.name,
            description=input.description,
            category_id=str(input.category_id),
            field_ids=[str(fid) for fid in input.field_ids],
        )

        async def work(record: AuditRecord) -> TemplateRow:
            return await _authoring(info).create_template(spec, record)

        return Template.from_row(await _mutate(info, "createTemplate", "Template", work))

    @strawberry.mutation(
        directives=WRITE,
        description="Edit a DRAFT in place; on a PUBLISHED version, create and return a new DRAFT version.",
    )
    async def update_template_draft(
        self, info: strawberry.Info, id: strawberry.ID, input: UpdateTemplateDraftInput
    ) -> Template:
        changes = TemplateChanges(
            name=input.name,
            description=input.description,
            category_id=str(input.category_id) if input.category_id is not None else None,
            field_ids=[str(fid) for fid in input.field_ids] if input.field_ids is not None else None,
        )

        async def work(record: AuditRecord) -> TemplateRow:
            return await _authoring(info).update_draft(str(id), changes, record)

        return Template.from_row(await _mutate(info, "updateTemplateDraft", "Template", work, str(id)))

    @strawberry.mutation(
        directives=WRITE, description="Start a new DRAFT version from a PUBLISHED one, with the same content."
    )
    async def revise_template(self, info: strawberry.Info, id: strawberry.ID) -> Template:
        async def work(record: AuditRecord) -> TemplateRow:
            return await _authoring(info).revise(str(id), record)

        return Template.from_row(await _mutate(info, "reviseTemplate", "Template", work, str(id)))

    @strawberry.mutation(directives=WRITE, description="DRAFT -> PUBLISHED; the version is immutable from then on.")
    async def publish_template(self, info: strawberry.Info, id: strawberry.ID) -> Template:
        async def work(record: AuditRecord) -> TemplateRow:
            return await _authoring(info).publish(str(id), record)

        return Template.from_row(await _mutate(info, "publishTemplate", "Template", work, str(id)))

    @strawberry.mutation(directives=WRITE, description="PUBLISHED -> DEPRECATED.")
    async def deprecate_template(self, info: strawberry.Info, id: strawberry.ID) -> Template:
        async def work(record: AuditRecord) -> TemplateRow:
            return await _authoring(info).deprecate(str(id), record)

        return Template.from_row(await _mutate(info, "deprecateTemplate", "Template", work, str(id)))

    @strawberry.mutation(
        directives=WRITE, description="Enable a PUBLISHED template (all its versions) for your tenant (tenant Admin)."
    )
    async def enable_template(self, info: strawberry.Info, template_id: strawberry.ID) -> Template:
        async def work(record: AuditRecord) -> TemplateRow:
            return await _authoring(info).enable(str(template_id), record)

        return Template.from_row(await _mutate(info, "enableTemplate", "TemplateEnablement", work, str(template_id)))

    @strawberry.mutation(
        directives=WRITE, description="Disable a template (all its versions) for your tenant (tenant Admin)."
    )
    async def disable_template(self, info: strawberry.Info, template_id: strawberry.ID) -> Template:
        async def work(record: AuditRecord) -> TemplateRow:
            return await _authoring(info).disable(str(template_id), record)

        return Template.from_row(await _mutate(info, "disableTemplate", "TemplateEnablement", work, str(template_id)))


def build() -> SubgraphSchema:
    """The templates subgraph's federation schema."""
    from subgraphs.templates.subscriptions import Subscription  # it imports this module's types

    return build_schema(
        query=Query, mutation=Mutation, subscription=Subscription, types=[Template, TemplateField, Category]
    )
