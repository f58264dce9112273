"""Domain rules of templates: field definitions, template versions and their lifecycle, enablement.

Authoring choice: templates and the field library are platform-wide definitions
(the regulation is the same for every tenant), so creating and changing them needs
a platform administrator. Tenants decide which templates they use: enabling and
disabling is for an Admin of the tenant.

Lifecycle of one version: DRAFT -> PUBLISHED -> DEPRECATED. A DRAFT is edited in
place; a PUBLISHED version never changes again: editing it (or ``revise``) starts a
new DRAFT version (version + 1, same lineage, new id) with the same content. A
lineage has at most one DRAFT at a time.

The checked inputs (specs, limits, validation) are in :mod:`subgraphs.templates.validation`; this
module applies them: audit pictures of fields and versions, and :class:`TemplateAuthoring`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from subgraphs.common.audit import AuditRecord
from subgraphs.common.caller import ADMIN, Caller
from subgraphs.common.errors import BadUserInput, Conflict, not_found
from subgraphs.common.ids import new_id, utcnow
from subgraphs.common.writes import flush_or_conflict
from subgraphs.templates.models import TemplateEnablement, TemplateFieldRow, TemplateRow, TemplateStatus
from subgraphs.templates.repository import TemplateRepository
from subgraphs.templates.validation import (
    MAX_FIELDS,
    FieldSpec,
    TemplateChanges,
    TemplateSpec,
    clean_category_id,
    clean_description,
    clean_name,
    validate_field,
)


def field_snapshot(row: TemplateFieldRow) -> dict[str, Any]:
    """A JSON-able picture of a library field, for the audit trail."""
    return {
        "id": row.id,
        "key": row.key,
        "label": row.label,
        "type": row.type,
        "unit": row.unit,
        "required": row.required,
        "min": row.min,
        "max": row.max,
        "pattern": row.pattern,
        "enumValues": row.enum_values,
        "access": row.access,
    }


def template_snapshot(row: TemplateRow, field_ids: Sequence[str]) -> dict[str, Any]:
    """A JSON-able picture of a template version, for the audit trail."""
    return {
        "id": row.id,
        "lineageId": row.lineage_id,
        "name": row.name,
        "description": row.description,
        "version": row.version,
        "status": row.status,
        "categoryId": row.category_id,
        "fieldIds": list(field_ids),
    }


def _describe(row: TemplateRow) -> str:
    return f"template {row.name!r} version {row.version}"


# -- the service ----------------------------------------------------------------------------


class TemplateAuthoring:
    """Template and field-library changes of one caller, through a repository.

    Each method is the ``work`` of one audited mutation: it fills ``record`` with the
    object id and before/after pictures and never commits.
    """

    def __init__(self, repository: TemplateRepository, caller: Caller) -> None:
        self.repo = repository
        self.caller = caller

    async def _flush(self, what: str) -> None:
        # A concurrent writer may have won a unique constraint (a version number, for instance).
        await flush_or_conflict(self.repo, f"{what} was changed concurrently; reload it and try again")

    async def _visible(self, template_id: str) -> TemplateRow:
        row = await self.repo.template(template_id)
        if row is None:
            raise not_found("template", template_id)
        return row

    async def _checked_field_ids(self, field_ids: Sequence[str]) -> list[str]:
        """``field_ids`` if they name existing, distinct fields with distinct keys."""
        ids = [fid.strip() for fid in field_ids]
        if len(ids) > MAX_FIELDS:
            raise BadUserInput(f"a template has at most {MAX_FIELDS} fields; got {len(ids)}", argument="fieldIds")
        rows = await self.repo.fields_by_ids(ids)
        unknown = list(dict.fromkeys(fid for fid in ids if fid not in rows))
        if unknown:
            noun = "field id" if len(unknown) == 1 else "field ids"
            raise BadUserInput(f"unknown {noun}: {', '.join(unknown)}", argument="fieldIds", unknownFieldIds=unknown)
        repeated = list(dict.fromkeys(fid for fid in ids if ids.count(fid) > 1))
        if repeated:
            raise BadUserInput(
                f"fields listed more than once: {', '.join(repeated)}", argument="fieldIds", duplicateFieldIds=repeated
            )
        by_key: dict[str, list[str]] = {}
        for fid in ids:
            by_key.setdefault(rows[fid].key, []).append(fid)
        clashes = {key: fids for key, fids in by_key.items() if len(fids) > 1}
        if clashes:
            detail = "; ".join(f"{key!r} ({', '.join(fids)})" for key, fids in clashes.items())
            raise BadUserInput(
                f"field keys must be unique within a template; used more than once: {detail}",
                argument="fieldIds",
                duplicateKeys=sorted(clashes),
            )
        return ids

    async def _check_name(self, name: str, lineage_id: str | None) -> None:
        await self.repo.lock_name(name)
        other = await self.repo.other_lineage_named(name, lineage_id)
        if other is not None:
            raise Conflict(
                f"a template named {other.name!r} already exists (lineage {other.lineage_id}); choose another name",
                existingLineageId=other.lineage_id,
            )

    # -- the field library --------------------------------------------------------------------

    async def create_field(self, spec: FieldSpec, record: AuditRecord) -> TemplateFieldRow:
        """Add a field definition to the library."""
        self.caller.require_platform_admin()
        clean = validate_field(spec)
        row = TemplateFieldRow(
            key=clean.key,
            label=clean.label,
            type=clean.type,
            unit=clean.unit,
            required=clean.required,
            min=clean.min,
            max=clean.max,
            pattern=clean.pattern,
            enum_values=list(clean.enum_values) if clean.enum_values is not None else None,
            access=clean.access,
        )
        self.repo.add(row)
        await self._flush(f"field {clean.key!r}")
        record.object_id = row.id
        record.after = field_snapshot(row)
        return row

    # -- template versions --------------------------------------------------------------------

    async def create_template(self, spec: TemplateSpec, record: AuditRecord) -> TemplateRow:
        """Create a template: the first version of a new lineage, as a DRAFT."""
        user_id = self.caller.require_platform_admin()
        name = clean_name(spec.name)
        description = clean_description(spec.description)
        category_id = clean_category_id(spec.category_id)
        field_ids = await self._checked_field_ids(spec.field_ids)
        await self._check_name(name, None)
        template_id = new_id()
        row = TemplateRow(
            id=template_id,
            lineage_id=template_id,  # a lineage is named after its first version
            name=name,
            description=description,
            version=1,
            status=TemplateStatus.DRAFT.value,
            category_id=category_id,
            created_by=user_id,
        )
        self.repo.add(row)
        await self._flush(f"template {name!r}")
        await self.repo.set_fields(row.id, field_ids)
        await self._flush(f"template {name!r}")
        record.object_id = row.id
        record.after = template_snapshot(row, field_ids)
        return row

    async def update_draft(self, template_id: str, changes: TemplateChanges, record: AuditRecord) -> TemplateRow:
        """Edit a DRAFT in place, or start a new DRAFT version from a PUBLISHED one."""
        self.caller.require_platform_admin()
        row = await self._visible(template_id)
        await self.repo.lock_lineage(row)
        record.object_id = row.id
        current_ids = await self.repo.field_ids_of(row.id)
        record.before = template_snapshot(row, current_ids)
        if row.status == TemplateStatus.PUBLISHED.value:
            return await self._new_draft(row, current_ids, changes, record)
        if row.status != TemplateStatus.DRAFT.value:
            raise Conflict(
                f"{_describe(row)} is {row.status}; only a DRAFT can be edited "
                "(editing a PUBLISHED version starts a new draft)",
                status=row.status,
            )
        name, description, category_id, field_ids = await self._apply(row, current_ids, changes)
        row.name, row.description, row.category_id = name, description, category_id
        row.updated_at = utcnow()
        self.repo.add(row)
        if field_ids != current_ids:
            await self.repo.set_fields(row.id, field_ids)
        await self._flush(_describe(row))
        record.after = template_snapshot(row, field_ids)
        return row

    async def revise(self, template_id: str, record: AuditRecord) -> TemplateRow:
        """Start a new DRAFT version from a PUBLISHED one, with the same content."""
        self.caller.require_platform_admin()
        row = await self._visible(template_id)
        await self.repo.lock_lineage(row)
        record.object_id = row.id
        current_ids = await self.repo.field_ids_of(row.id)
        record.before = template_snapshot(row, current_ids)
        if row.status != TemplateStatus.PUBLISHED.value:
            raise Conflict(
                f"{_describe(row)} is {row.status}; only a PUBLISHED version can be revised", status=row.status
            )
        return await self._new_draft(row, current_ids, TemplateChanges(), record)

    async def _apply(
        self, row: TemplateRow, current_ids: list[str], changes: TemplateChanges
    ) -> tuple[str, str, str, list[str]]:
        name = clean_name(changes.name) if changes.name is not None else row.name
        description = clean_description(changes.description) if changes.description is not None else row.description
        category_id = clean_category_id(changes.category_id) if changes.category_id is not None else row.category_id
        field_ids = await self._checked_field_ids(changes.field_ids) if changes.field_ids is not None else current_ids
        if name.lower() != row.name.lower():
            await self._check_name(name, row.lineage_id)
        return name, description, category_id, field_ids

    async def _new_draft(
        self, base: TemplateRow, current_ids: list[str], changes: TemplateChanges, record: AuditRecord
    ) -> TemplateRow:
        versions = await self.repo.lineage(base.lineage_id)
        draft = next((v for v in versions if v.status == TemplateStatus.DRAFT.value), None)
        if draft is not None:
            raise Conflict(
                f"template {base.name!r} already has a draft, version {draft.version} (id {draft.id}); edit that draft",
                status=base.status,
                draftId=draft.id,
            )
        name, description, category_id, field_ids = await self._apply(base, current_ids, changes)
        row = TemplateRow(
            lineage_id=base.lineage_id,
            name=name,
            description=description,
            version=max(v.version for v in versions) + 1,
            status=TemplateStatus.DRAFT.value,
            category_id=category_id,
            created_by=self.caller.user_id,
        )
        self.repo.add(row)
        await self._flush(f"template {base.name!r}")
        await self.repo.set_fields(row.id, field_ids)
        await self._flush(f"template {base.name!r}")
        record.object_id = row.id
        record.after = template_snapshot(row, field_ids)
        return row

    async def publish(self, template_id: str, record: AuditRecord) -> TemplateRow:
        """DRAFT -> PUBLISHED: the version is frozen from now on."""
        self.caller.require_platform_admin()
        row = await self._visible(template_id)
        await self.repo.lock_lineage(row)
        record.object_id = row.id
        field_ids = await self.repo.field_ids_of(row.id)
        record.before = template_snapshot(row, field_ids)
        if row.status != TemplateStatus.DRAFT.value:
            raise Conflict(f"{_describe(row)} is {row.status}; only a DRAFT can be published", status=row.status)
        if not field_ids:
            raise Conflict(f"{_describe(row)} has no fields; add fields before publishing", status=row.status)
        now = utcnow()
        row.status = TemplateStatus.PUBLISHED.value
        row.published_at = now
        row.updated_at = now
        self.repo.add(row)
        await self._flush(_describe(row))
        record.after = template_snapshot(row, field_ids)
        return row

    async def deprecate(self, template_id: str, record: AuditRecord) -> TemplateRow:
        """PUBLISHED -> DEPRECATED: existing passports keep it; new ones should not use it."""
        self.caller.require_platform_admin()
        row = await self._visible(template_id)
        await self.repo.lock_lineage(row)
        record.object_id = row.id
        field_ids = await self.repo.field_ids_of(row.id)
        record.before = template_snapshot(row, field_ids)
        if row.status != TemplateStatus.PUBLISHED.value:
            raise Conflict(
                f"{_describe(row)} is {row.status}; only a PUBLISHED version can be deprecated", status=row.status
            )
        now = utcnow()
        row.status = TemplateStatus.DEPRECATED.value
        row.deprecated_at = now
        row.updated_at = now
        self.repo.add(row)
        await self._flush(_describe(row))
        record.after = template_snapshot(row, field_ids)
        return row

    # -- enablement (per tenant) --------------------------------------------------------------

    async def enable(self, template_id: str, record: AuditRecord) -> TemplateRow:
        """The caller's tenant uses the template (every version of its lineage); idempotent."""
        tenant_id = self.caller.require_role(ADMIN)
        row = await self._visible(template_id)
        record.object_id = row.id
        if row.status != TemplateStatus.PUBLISHED.value:
            raise Conflict(
                f"{_describe(row)} is {row.status}; only a PUBLISHED template can be enabled", status=row.status
            )
        existing = await self.repo.enablement(row.lineage_id)
        record.before = {"lineageId": row.lineage_id, "enabled": existing is not None}
        if existing is None:
            self.repo.add(
                TemplateEnablement(tenant_id=tenant_id, lineage_id=row.lineage_id, enabled_by=self.caller.user_id)
            )
            await self._flush(_describe(row))
        record.after = {"lineageId": row.lineage_id, "enabled": True}
        return row

    async def disable(self, template_id: str, record: AuditRecord) -> TemplateRow:
        """The caller's tenant stops using the template's lineage; idempotent."""
        self.caller.require_role(ADMIN)
        row = await self._visible(template_id)
        record.object_id = row.id
        existing = await self.repo.enablement(row.lineage_id)
        record.before = {"lineageId": row.lineage_id, "enabled": existing is not None}
        if existing is not None:
            await self.repo.delete(existing)
            await self._flush(_describe(row))
        record.after = {"lineageId": row.lineage_id, "enabled": False}
        return row


# Re-exported: the schema imports the specs from here.
__all__ = [
    "FieldSpec",
    "TemplateAuthoring",
    "TemplateChanges",
    "TemplateSpec",
    "field_snapshot",
    "template_snapshot",
    "validate_field",
]
