"""The templates subgraph's mutations: template authoring (platform administrators) and enablement
(tenant Admins).

Each runs through :func:`subgraphs.common.audit.run_mutation` (one transaction, audited whether it
succeeds or fails, the template event of each action in :data:`EVENTS` published after the commit).
"""

from __future__ import annotations

from typing import Any

import strawberry

from subgraphs.common.audit import AuditRecord, event_table, run_mutation
from subgraphs.common.authz import requires_scopes
from subgraphs.common.caller import Caller
from subgraphs.templates.domain import FieldSpec, TemplateAuthoring, TemplateChanges, TemplateSpec
from subgraphs.templates.models import TemplateFieldRow, TemplateRow
from subgraphs.templates.schema_inputs import CreateTemplateFieldInput, CreateTemplateInput, UpdateTemplateDraftInput
from subgraphs.templates.schema_types import Template, TemplateField, template_repository


def _authoring(info: strawberry.Info) -> TemplateAuthoring:
    return TemplateAuthoring(template_repository(info), info.context.caller)


def _attributes(row: TemplateRow) -> dict[str, object]:
    return {"categoryId": row.category_id, "lineageId": row.lineage_id}


def _acting_tenant(row: TemplateRow, caller: Caller) -> str | None:
    return caller.tenant_id


# The template event each mutation stages for subscriptions (subgraphs/templates/subscriptions.py).
# Templates are the platform's (no tenant); enabling one is the acting tenant's own event.
EVENTS = {
    **event_table(
        "Template",
        {
            "createTemplate": "created",
            "updateTemplateDraft": "updated",
            "reviseTemplate": "revised",
            "publishTemplate": "published",
            "deprecateTemplate": "deprecated",
        },
        tenant=lambda row, caller: None,
        attributes=_attributes,
    ),
    **event_table(
        "Template",
        {"enableTemplate": "enabled", "disableTemplate": "disabled"},
        tenant=_acting_tenant,
        attributes=_attributes,
    ),
}


async def _mutate(info: strawberry.Info, action: str, object_type: str, work: Any, object_id: str | None = None) -> Any:
    return await run_mutation(
        info.context, action=action, object_type=object_type, work=work, object_id=object_id, event=EVENTS.get(action)
    )


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
