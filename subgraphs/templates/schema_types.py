"""The templates subgraph's GraphQL object types: TemplateField, Template, the Category extension and
the audit entry, with the domain enums registered as GraphQL enums.

Each type knows how it is read from its row (``from_row``) and how ``_entities`` resolves it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from subgraphs.common.tags import PARTNER
from subgraphs.templates import loaders
from subgraphs.templates.models import AccessLevel, AuditEntry, FieldType, TemplateFieldRow, TemplateRow, TemplateStatus
from subgraphs.templates.repository import TemplateRepository

# The domain enums are the GraphQL enums (strawberry.enum registers them in place).
strawberry.enum(TemplateStatus, description="Lifecycle of a template version.")
strawberry.enum(FieldType, description="Value type of a template field.")
strawberry.enum(AccessLevel, description="Who may read a field's value on a passport.")


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; every stored value is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def template_repository(info: strawberry.Info) -> TemplateRepository:
    """The request's template repository (its session, seen as its caller)."""
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
    def from_row(cls, row: TemplateRow | Any) -> Template:
        """The GraphQL view of a template version row (an ORM object or a plain row of its columns)."""
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
    def resolve_reference(cls, info: strawberry.Info, id: strawberry.ID) -> Template | None:
        """``_entities`` for Template: ``None`` for missing versions and drafts the caller may not see.

        The loader's awaitable of the version (or the version itself, once loaded): no coroutine
        per representation.
        """
        return loaders.template_by_id(info.context).get(str(id))  # type: ignore[no-any-return]


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
