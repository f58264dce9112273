"""Persistence of templates, the field library and enablements (through the request's session).

Visibility of template versions is decided here, once: drafts are work in progress
of the platform administrators who author templates, so only they see DRAFT rows;
everybody else (anonymous callers included) sees PUBLISHED and DEPRECATED versions,
which are public definitions. Enablements are tenant-owned and scoped by
:mod:`subgraphs.common.tenancy`, never filtered here by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from subgraphs.common.caller import Caller
from subgraphs.common.writes import rule_lock
from subgraphs.templates.models import (
    AuditEntry,
    TemplateEnablement,
    TemplateFieldLink,
    TemplateFieldRow,
    TemplateRow,
    TemplateStatus,
)


def visible_templates(caller: Caller) -> list[Any]:
    """WHERE clauses limiting template versions to those ``caller`` may read."""
    if caller.platform_admin:
        return []
    return [col(TemplateRow.status) != TemplateStatus.DRAFT.value]


@dataclass(frozen=True, slots=True)
class TemplateFilter:
    """Filters of the ``templates`` list."""

    status: str | None = None
    category_id: str | None = None
    lineage_id: str | None = None
    lineage_ids: Sequence[str] | None = None  # enabled lineages, when asked for
    latest_only: bool = False


class TemplateRepository:
    """Reads and writes of the templates subgraph's tables for one caller."""

    def __init__(self, session: AsyncSession, caller: Caller) -> None:
        self.session = session
        self.caller = caller

    async def _scalars(self, stmt: Any) -> list[Any]:
        return list((await self.session.exec(stmt)).scalars().all())  # type: ignore[call-overload]

    # -- templates ---------------------------------------------------------------------------

    async def template(self, template_id: str) -> TemplateRow | None:
        """The version ``template_id`` if the caller may see it."""
        stmt = sa.select(TemplateRow).where(col(TemplateRow.id) == template_id, *visible_templates(self.caller))
        rows = await self._scalars(stmt)
        return rows[0] if rows else None

    async def lock_lineage(self, row: TemplateRow) -> None:
        """Hold ``row``'s lineage until commit and read ``row`` afresh.

        Every change of a template version (edit, revise, publish, deprecate) takes it first,
        so a status is checked against the state it replaces: a draft cannot be edited while
        it is being published, nor revised twice at once. PostgreSQL: an advisory lock; SQLite:
        the mutation's write lock already serialises writers.
        """
        await rule_lock(self.session, "templates:lineage", row.lineage_id)
        await self.session.refresh(row)

    async def lock_name(self, name: str) -> None:
        """Hold a template name (case-insensitively) until commit, while its uniqueness is checked."""
        await rule_lock(self.session, "templates:name", name.lower())

    async def lineage(self, lineage_id: str) -> list[TemplateRow]:
        """Every version of a lineage (whatever the caller sees), oldest first."""
        stmt = (
            sa.select(TemplateRow).where(col(TemplateRow.lineage_id) == lineage_id).order_by(col(TemplateRow.version))
        )
        return await self._scalars(stmt)

    async def other_lineage_named(self, name: str, lineage_id: str | None) -> TemplateRow | None:
        """A version of another lineage whose name equals ``name`` (case-insensitively)."""
        stmt = sa.select(TemplateRow).where(sa.func.lower(col(TemplateRow.name)) == name.lower())
        if lineage_id is not None:
            stmt = stmt.where(col(TemplateRow.lineage_id) != lineage_id)
        rows = await self._scalars(stmt.limit(1))
        return rows[0] if rows else None

    async def list_templates(self, flt: TemplateFilter, offset: int, limit: int) -> tuple[list[TemplateRow], int]:
        """One page of visible template versions (by name, then version) and the filtered total."""
        where: list[Any] = list(visible_templates(self.caller))
        if flt.status is not None:
            where.append(col(TemplateRow.status) == flt.status)
        if flt.category_id is not None:
            where.append(col(TemplateRow.category_id) == flt.category_id)
        if flt.lineage_id is not None:
            where.append(col(TemplateRow.lineage_id) == flt.lineage_id)
        if flt.lineage_ids is not None:
            where.append(col(TemplateRow.lineage_id).in_(list(flt.lineage_ids)))
        if flt.latest_only:
            # The newest version per lineage among the rows the other filters keep.
            newer = aliased(TemplateRow)
            newer_where = [
                col(newer.lineage_id) == col(TemplateRow.lineage_id),
                col(newer.version) > col(TemplateRow.version),
            ]
            if not self.caller.platform_admin:
                newer_where.append(col(newer.status) != TemplateStatus.DRAFT.value)
            if flt.status is not None:
                newer_where.append(col(newer.status) == flt.status)
            where.append(~sa.exists().where(*newer_where))
        total_stmt = sa.select(sa.func.count()).select_from(TemplateRow).where(*where)
        total = int((await self.session.exec(total_stmt)).scalar_one())  # type: ignore[call-overload]
        stmt = (
            sa.select(TemplateRow)
            .where(*where)
            .order_by(col(TemplateRow.name), col(TemplateRow.version), col(TemplateRow.id))
            .offset(offset)
            .limit(limit)
        )
        return await self._scalars(stmt), total

    async def field_ids_of(self, template_id: str) -> list[str]:
        """The field ids of a version, in order."""
        # Only the column: link objects in the identity map would clash with set_fields' new links.
        stmt = (
            sa.select(col(TemplateFieldLink.field_id))
            .where(col(TemplateFieldLink.template_id) == template_id)
            .order_by(col(TemplateFieldLink.position))
        )
        return [str(field_id) for field_id in await self._scalars(stmt)]

    async def set_fields(self, template_id: str, field_ids: Sequence[str]) -> None:
        """Replace the ordered field list of a (draft) version."""
        await self.session.execute(
            sa.delete(TemplateFieldLink).where(col(TemplateFieldLink.template_id) == template_id)
        )
        # Flush the delete before the inserts: the (template, position) constraint would trip otherwise.
        await self.session.flush()
        for position, field_id in enumerate(field_ids, start=1):
            self.session.add(TemplateFieldLink(template_id=template_id, field_id=field_id, position=position))

    def add(self, row: Any) -> None:
        """Stage a new row."""
        self.session.add(row)

    async def flush(self) -> None:
        """Send staged changes (inside the mutation's transaction)."""
        await self.session.flush()

    # -- the field library -------------------------------------------------------------------

    async def fields_by_ids(self, field_ids: Sequence[str]) -> dict[str, TemplateFieldRow]:
        """The library fields among ``field_ids``, by id."""
        if not field_ids:
            return {}
        stmt = sa.select(TemplateFieldRow).where(col(TemplateFieldRow.id).in_(list(dict.fromkeys(field_ids))))
        return {row.id: row for row in await self._scalars(stmt)}

    async def list_fields(
        self, *, field_type: str | None, key: str | None, offset: int, limit: int
    ) -> tuple[list[TemplateFieldRow], int]:
        """One page of the field library (by key, then creation) and the filtered total."""
        where: list[Any] = []
        if field_type is not None:
            where.append(col(TemplateFieldRow.type) == field_type)
        if key is not None:
            where.append(col(TemplateFieldRow.key) == key)
        total_stmt = sa.select(sa.func.count()).select_from(TemplateFieldRow).where(*where)
        total = int((await self.session.exec(total_stmt)).scalar_one())  # type: ignore[call-overload]
        stmt = (
            sa.select(TemplateFieldRow)
            .where(*where)
            .order_by(col(TemplateFieldRow.key), col(TemplateFieldRow.created_at), col(TemplateFieldRow.id))
            .offset(offset)
            .limit(limit)
        )
        return await self._scalars(stmt), total

    # -- enablements (tenant-owned: scoped by the session) -----------------------------------

    async def enablement(self, lineage_id: str) -> TemplateEnablement | None:
        """The caller's tenant's enablement of a lineage, if any."""
        stmt = sa.select(TemplateEnablement).where(col(TemplateEnablement.lineage_id) == lineage_id)
        rows = await self._scalars(stmt)
        return rows[0] if rows else None

    async def enabled_lineage_ids(self) -> list[str]:
        """Lineages the caller's tenant has enabled."""
        # Whole rows, not a subquery: tenant criteria are attached to top-level entities.
        return [row.lineage_id for row in await self._scalars(sa.select(TemplateEnablement))]

    async def delete(self, row: Any) -> None:
        """Delete a row (inside the mutation's transaction)."""
        await self.session.delete(row)

    # -- audit -------------------------------------------------------------------------------

    async def audit_entries(self, object_id: str | None, offset: int, limit: int) -> tuple[list[AuditEntry], int]:
        """A page of the audit trail, newest first."""
        where: list[Any] = []
        if object_id is not None:
            where.append(col(AuditEntry.object_id) == object_id)
        total_stmt = sa.select(sa.func.count()).select_from(AuditEntry).where(*where)
        total = int((await self.session.exec(total_stmt)).scalar_one())  # type: ignore[call-overload]
        stmt = (
            sa.select(AuditEntry)
            .where(*where)
            .order_by(col(AuditEntry.created_at).desc(), col(AuditEntry.id).desc())
            .offset(offset)
            .limit(limit)
        )
        return await self._scalars(stmt), total
