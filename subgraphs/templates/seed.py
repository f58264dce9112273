"""Idempotent demo data of the templates subgraph, from :mod:`subgraphs.common.demo`."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from subgraphs.common import demo
from subgraphs.common.db import Database
from subgraphs.common.ids import stable_id
from subgraphs.common.settings import Settings
from subgraphs.templates.models import (
    TemplateEnablement,
    TemplateFieldLink,
    TemplateFieldRow,
    TemplateRow,
    TemplateStatus,
)

# A fixed instant, so seeded rows read the same on every run.
SEEDED_AT = datetime(2026, 1, 1, tzinfo=UTC)


def enablement_id(tenant_key: str, template_key: str) -> str:
    """The id of a seeded enablement."""
    return stable_id("template-enablement", tenant_key, template_key)


async def seed(database: Database, settings: Settings) -> None:
    """Seed the demo templates (version 1, PUBLISHED), their fields and the tenants' enablements."""
    async with database.system_session() as session:

        async def existing(model: type, ids: list[str]) -> set[str]:
            rows = await session.execute(sa.select(model.id).where(model.id.in_(ids)))  # type: ignore[attr-defined]
            return {str(row_id) for row_id in rows.scalars()}

        field_ids = [f.id_for(t.key) for t in demo.TEMPLATES for f in t.fields]
        have_fields = await existing(TemplateFieldRow, field_ids)
        have_templates = await existing(TemplateRow, [t.id for t in demo.TEMPLATES])
        for template in demo.TEMPLATES:
            for field in template.fields:
                if field.id_for(template.key) in have_fields:
                    continue
                session.add(
                    TemplateFieldRow(
                        id=field.id_for(template.key),
                        key=field.key,
                        label=field.label,
                        type=field.type,
                        unit=field.unit,
                        required=field.required,
                        min=field.min,
                        max=field.max,
                        pattern=field.pattern,
                        enum_values=list(field.enum_values) if field.enum_values else None,
                        access=field.access,
                        created_at=SEEDED_AT,
                    )
                )
            if template.id in have_templates:
                continue
            session.add(
                TemplateRow(
                    id=template.id,
                    # Lineages are named after their first version; demo templates are version 1.
                    lineage_id=template.id,
                    name=template.name,
                    description=template.description,
                    version=template.version,
                    status=TemplateStatus.PUBLISHED.value,
                    category_id=template.category_id,
                    created_at=SEEDED_AT,
                    updated_at=SEEDED_AT,
                    published_at=SEEDED_AT,
                )
            )
            await session.flush()
            for position, field in enumerate(template.fields, start=1):
                session.add(
                    TemplateFieldLink(template_id=template.id, field_id=field.id_for(template.key), position=position)
                )
        wanted = {enablement_id(t, k): (t, k) for t, k in demo.TEMPLATE_ENABLEMENTS}
        have_enablements = await existing(TemplateEnablement, list(wanted))
        for ident, (tenant_key, template_key) in wanted.items():
            if ident in have_enablements:
                continue
            session.add(
                TemplateEnablement(
                    id=ident,
                    tenant_id=demo.tenant(tenant_key).id,
                    lineage_id=demo.template(template_key).id,
                    created_at=SEEDED_AT,
                )
            )
