"""Per-request dataloaders of the templates subgraph: one SQL statement per relation and batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from aiodataloader import DataLoader
from sqlmodel import col

from subgraphs.common.loaders import ObjectLoader, keyed_select, objects_by_column, rows_by_column, rows_grouped_by
from subgraphs.templates import schema_types
from subgraphs.templates.models import TemplateEnablement, TemplateFieldLink, TemplateFieldRow, TemplateRow
from subgraphs.templates.repository import visible_templates


@dataclass(frozen=True, slots=True)
class PlacedField:
    """A library field as it sits in one template version."""

    row: TemplateFieldRow
    position: int


def template_by_id(ctx: Any) -> ObjectLoader:
    """``Template`` objects by version id, or ``None`` when missing or invisible to the caller.

    Read as plain rows and built once per row (no ORM objects: nothing here changes them).
    """
    return ctx.loader(  # type: ignore[no-any-return]
        "templates.by_id",
        lambda: objects_by_column(
            ctx.session,
            keyed_select(TemplateRow, col(TemplateRow.id), *visible_templates(ctx.caller)),
            "id",
            schema_types.Template.from_row,
        ),
    )


def templates_by_category(ctx: Any) -> DataLoader:
    """Visible template versions per category id, by name then version."""
    return ctx.loader(
        "templates.by_category",
        lambda: rows_grouped_by(
            ctx.session,
            TemplateRow,
            col(TemplateRow.category_id),
            where=visible_templates(ctx.caller),
            order_by=(col(TemplateRow.name), col(TemplateRow.version)),
        ),
    )


def templates_by_lineage(ctx: Any) -> DataLoader:
    """Visible versions per lineage id, oldest first."""
    return ctx.loader(
        "templates.by_lineage",
        lambda: rows_grouped_by(
            ctx.session,
            TemplateRow,
            col(TemplateRow.lineage_id),
            where=visible_templates(ctx.caller),
            order_by=(col(TemplateRow.version),),
        ),
    )


def field_by_id(ctx: Any) -> DataLoader:
    """Library field by id (field definitions are public)."""
    return ctx.loader(
        "templates.field_by_id", lambda: rows_by_column(ctx.session, TemplateFieldRow, col(TemplateFieldRow.id))
    )


def fields_by_template(ctx: Any) -> DataLoader:
    """The ordered fields (with positions) per template version id, in one join per batch."""

    def factory() -> DataLoader:
        async def batch(keys: Sequence[str]) -> list[list[PlacedField]]:
            stmt = (
                # Link columns, not link objects: a later set_fields in this session replaces links.
                sa.select(col(TemplateFieldLink.template_id), col(TemplateFieldLink.position), TemplateFieldRow)
                .join(TemplateFieldRow, col(TemplateFieldRow.id) == col(TemplateFieldLink.field_id))
                .where(col(TemplateFieldLink.template_id).in_(list(dict.fromkeys(keys))))
                .order_by(col(TemplateFieldLink.template_id), col(TemplateFieldLink.position))
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
        lambda: rows_by_column(ctx.session, TemplateEnablement, col(TemplateEnablement.lineage_id)),
    )
