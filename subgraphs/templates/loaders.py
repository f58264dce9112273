"""Per-request dataloaders of the templates subgraph: one SQL statement per relation and batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from aiodataloader import DataLoader

from subgraphs.common.loaders import rows_by_column, rows_grouped_by
from subgraphs.templates.models import TemplateEnablement, TemplateFieldLink, TemplateFieldRow, TemplateRow
from subgraphs.templates.repository import visible_templates


@dataclass(frozen=True, slots=True)
class PlacedField:
    """A library field as it sits in one template version."""

    row: TemplateFieldRow
    position: int


def template_by_id(ctx: Any) -> DataLoader:
    """Template version by id, or ``None`` when missing or invisible to the caller."""
    return ctx.loader(
        "templates.by_id",
        lambda: rows_by_column(ctx.session, TemplateRow, TemplateRow.id, where=visible_templates(ctx.caller)),
    )


def templates_by_category(ctx: Any) -> DataLoader:
    """Visible template versions per category id, by name then version."""
    return ctx.loader(
        "templates.by_category",
        lambda: rows_grouped_by(
            ctx.session,
            TemplateRow,
            TemplateRow.category_id,
            where=visible_templates(ctx.caller),
            order_by=(TemplateRow.name, TemplateRow.version),
        ),
    )


def templates_by_lineage(ctx: Any) -> DataLoader:
    """Visible versions per lineage id, oldest first."""
    return ctx.loader(
        "templates.by_lineage",
        lambda: rows_grouped_by(
            ctx.session,
            TemplateRow,
            TemplateRow.lineage_id,
            where=visible_templates(ctx.caller),
            order_by=(TemplateRow.version,),
        ),
    )


def field_by_id(ctx: Any) -> DataLoader:
    """Library field by id (field definitions are public)."""
    return ctx.loader(
        "templates.field_by_id", lambda: rows_by_column(ctx.session, TemplateFieldRow, TemplateFieldRow.id)
    )


def fields_by_template(ctx: Any) -> DataLoader:
    """The ordered fields (with positions) per template version id, in one join per batch."""

    def factory() -> DataLoader:
        async def batch(keys: Sequence[str]) -> list[list[PlacedField]]:
            stmt = (
                # Link columns, not link objects: a later set_fields in this session replaces links.
                sa.select(TemplateFieldLink.template_id, TemplateFieldLink.position, TemplateFieldRow)
                .join(TemplateFieldRow, TemplateFieldRow.id == TemplateFieldLink.field_id)
                .where(TemplateFieldLink.template_id.in_(list(dict.fromkeys(keys))))
                .order_by(TemplateFieldLink.template_id, TemplateFieldLink.position)
            )
            grouped: dict[str, list[PlacedField]] = defaultdict(list)
            for template_id, position, row in (await ctx.session.execute(stmt)).all():
                grouped[template_id].append(PlacedField(row=row, position=position))
            return [grouped.get(key, []) for key in keys]

        return DataLoader(batch_load_fn=batch)

    return ctx.loader("templates.fields_by_template", factory)


def enablement_by_lineage(ctx: Any) -> DataLoader:
    """The caller's tenant's enablement per lineage id, or ``None`` (tenant scoping applies)."""
    return ctx.loader(
        "templates.enablement_by_lineage",
        lambda: rows_by_column(ctx.session, TemplateEnablement, TemplateEnablement.lineage_id),
    )
