"""Tables of the templates subgraph.

Templates and the field library are platform-wide definitions (not tenant-owned):
every tenant fills passports from the same regulatory templates. Which templates a
tenant uses is tenant-owned (:class:`TemplateEnablement`).

A template *lineage* is one template over time; each :class:`TemplateRow` is one
version of it. Field definitions live in a reusable library
(:class:`TemplateFieldRow`) and a version lists them in order through
:class:`TemplateFieldLink`. Published versions never change; neither do field
definitions (there is no mutation that edits one), so a published version's fields
are frozen too.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from subgraphs.common.audit import AuditEntryBase
from subgraphs.common.models import TenantOwned, created_at_field, id_field, json_field


class TemplateStatus(StrEnum):
    """Lifecycle of one template version: DRAFT -> PUBLISHED -> DEPRECATED."""

    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"
    DEPRECATED = "DEPRECATED"


class FieldType(StrEnum):
    """The value type a passport stores for a field."""

    STRING = "STRING"
    TEXT = "TEXT"
    NUMBER = "NUMBER"
    INTEGER = "INTEGER"
    BOOLEAN = "BOOLEAN"
    DATE = "DATE"
    URL = "URL"
    ENUM = "ENUM"


class AccessLevel(StrEnum):
    """Who may read a field's value on a passport."""

    PUBLIC = "PUBLIC"
    RESTRICTED = "RESTRICTED"
    CONFIDENTIAL = "CONFIDENTIAL"


class TemplateFieldRow(SQLModel, table=True):
    """One field definition of the library; immutable once created."""

    __tablename__ = "templates_fields"

    id: str = id_field()
    key: str = Field(max_length=64, index=True)
    label: str = Field(max_length=200)
    # Enums are stored as plain strings so the column is the same on SQLite and PostgreSQL.
    type: str = Field(max_length=16)
    unit: str | None = Field(default=None, max_length=32)
    required: bool = Field(default=False)
    min: float | None = Field(default=None)
    max: float | None = Field(default=None)
    pattern: str | None = Field(default=None, max_length=500)
    enum_values: Any = json_field(nullable=True)
    access: str = Field(max_length=16)
    created_at: datetime = created_at_field()


class TemplateRow(SQLModel, table=True):
    """One version of a template."""

    __tablename__ = "templates_templates"
    __table_args__ = (sa.UniqueConstraint("lineage_id", "version", name="uq_templates_templates_lineage_version"),)

    id: str = id_field()
    lineage_id: str = Field(max_length=26, index=True)
    name: str = Field(max_length=200, index=True)
    description: str = Field(default="", max_length=2000)
    version: int = Field(default=1)
    status: str = Field(default=TemplateStatus.DRAFT.value, max_length=16, index=True)
    category_id: str = Field(max_length=26, index=True)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    published_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True), nullable=True)
    deprecated_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True), nullable=True)
    created_by: str | None = Field(default=None, max_length=26)


class TemplateFieldLink(SQLModel, table=True):
    """Field ``field_id`` sits at ``position`` (1-based) of template version ``template_id``."""

    __tablename__ = "templates_template_fields"
    __table_args__ = (sa.UniqueConstraint("template_id", "position", name="uq_templates_template_fields_position"),)

    template_id: str = Field(foreign_key="templates_templates.id", primary_key=True, max_length=26)
    field_id: str = Field(foreign_key="templates_fields.id", primary_key=True, max_length=26, index=True)
    position: int


class TemplateEnablement(TenantOwned, table=True):
    """A tenant uses a template lineage (every version of it)."""

    __tablename__ = "templates_enablements"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "lineage_id", name="uq_templates_enablements_tenant_lineage"),)

    id: str = id_field()
    lineage_id: str = Field(max_length=26, index=True)
    enabled_by: str | None = Field(default=None, max_length=26)
    created_at: datetime = created_at_field()


class AuditEntry(AuditEntryBase, table=True):
    """The templates subgraph's audit trail."""

    __tablename__ = "templates_audit_log"
