"""The templates subgraph's GraphQL inputs: a new library field, a new template, changes to a draft."""

from __future__ import annotations

import strawberry

from subgraphs.templates import schema_types  # noqa: F401  registers the domain enums as GraphQL enums first
from subgraphs.templates.models import AccessLevel, FieldType


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
