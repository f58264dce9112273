"""Per-request dataloaders of the passport subgraph: one batched statement per relation.

Each function returns the request's loader (created on first use), so a listing of 3
or 300 passports with their versions and audit entries costs the same statements.
"""

from __future__ import annotations

from aiodataloader import DataLoader

from subgraphs.common.context import RequestContext
from subgraphs.common.loaders import counts_grouped_by, rows_by_column, rows_grouped_by
from subgraphs.passport.models import AuditEntry, Passport, PassportVersion


def passport_by_id(ctx: RequestContext) -> DataLoader:
    """The caller's passport per id (``None`` when missing or another tenant's)."""
    return ctx.loader("passport.by_id", lambda: rows_by_column(ctx.session, Passport, Passport.id))


def passport_by_uuid(ctx: RequestContext) -> DataLoader:
    """The caller's passport per public uuid (tenant-scoped, for ``_entities`` by uuid)."""
    return ctx.loader("passport.by_uuid", lambda: rows_by_column(ctx.session, Passport, Passport.uuid))


def versions_by_passport(ctx: RequestContext) -> DataLoader:
    """The caller's published versions per passport id, newest first."""
    return ctx.loader(
        "passport.versions",
        lambda: rows_grouped_by(
            ctx.session,
            PassportVersion,
            PassportVersion.passport_id,
            order_by=[PassportVersion.passport_id, PassportVersion.number.desc()],  # type: ignore[attr-defined]
        ),
    )


def audit_by_passport(ctx: RequestContext) -> DataLoader:
    """Audit entries per passport id, newest first, written in the caller's tenant."""
    # The audit table is not tenant-owned (a failed anonymous call has no tenant), so
    # tenancy cannot scope it: restrict to the caller's tenant here, or another
    # tenant's failed attempts on this id would show up in this passport's history.
    tenant_id = ctx.caller.tenant_id
    return ctx.loader(
        "passport.audit",
        lambda: rows_grouped_by(
            ctx.session,
            AuditEntry,
            AuditEntry.object_id,
            where=[AuditEntry.object_type == "Passport", AuditEntry.tenant_id == tenant_id],
            order_by=[AuditEntry.created_at.desc(), AuditEntry.id.desc()],  # type: ignore[attr-defined]
        ),
    )


def passports_by_product(ctx: RequestContext) -> DataLoader:
    """The caller's passports per product id, by name."""
    return ctx.loader(
        "passport.by_product",
        lambda: rows_grouped_by(ctx.session, Passport, Passport.product_id, order_by=[Passport.name, Passport.id]),
    )


def passport_count_by_product(ctx: RequestContext) -> DataLoader:
    """How many of the caller's passports each product has."""
    return ctx.loader(
        "passport.count_by_product", lambda: counts_grouped_by(ctx.session, Passport, Passport.product_id)
    )


def passport_count_by_template(ctx: RequestContext) -> DataLoader:
    """How many of the caller's passports each template version backs."""
    return ctx.loader(
        "passport.count_by_template", lambda: counts_grouped_by(ctx.session, Passport, Passport.template_id)
    )
