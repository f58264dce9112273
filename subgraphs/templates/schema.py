"""GraphQL surface of the templates subgraph: Template, TemplateField, Category.templates.

Resolvers are thin: reads go through the per-request loaders (one statement per
relation and batch), writes through :class:`~subgraphs.templates.domain.TemplateAuthoring`
inside :func:`~subgraphs.common.audit.run_mutation`.

What is public: PUBLISHED (and DEPRECATED) template versions, the field library and
the templates of a category, to anonymous callers too, also through ``_entities``
(drafts only for platform administrators, filtered in the persistence layer). Every
mutation needs the ``templates:write`` scope (``@requiresScopes``, enforced by the
gateway and again by :mod:`subgraphs.common.authz`); authoring also needs a platform
administrator and enablement a tenant Admin, checked by the domain.

The object types are in :mod:`subgraphs.templates.schema_types`, the inputs in
:mod:`subgraphs.templates.schema_inputs`, the mutations in :mod:`subgraphs.templates.schema_mutations`;
this module holds the queries and builds the schema.
"""

from __future__ import annotations

import strawberry

from subgraphs.common.authz import authenticated
from subgraphs.common.errors import not_found
from subgraphs.common.graphql import SubgraphSchema, build_schema
from subgraphs.common.pagination import Connection, build_connection, page_size, page_window
from subgraphs.common.tags import internal, partner
from subgraphs.templates import loaders
from subgraphs.templates.models import FieldType, TemplateStatus
from subgraphs.templates.repository import TemplateFilter
from subgraphs.templates.schema_inputs import CreateTemplateFieldInput, CreateTemplateInput, UpdateTemplateDraftInput
from subgraphs.templates.schema_mutations import EVENTS, WRITE, Mutation
from subgraphs.templates.schema_types import Category, Template, TemplateAuditEntry, TemplateField, template_repository


@strawberry.type
class Query:
    """Reads of templates and the field library."""

    @strawberry.field(
        directives=partner(), description="One template version; NOT_FOUND when missing or a draft you may not see."
    )
    async def template(self, info: strawberry.Info, id: strawberry.ID) -> Template:
        template: Template | None = await loaders.template_by_id(info.context).load(str(id))
        if template is None:
            raise not_found("template", str(id))
        return template

    @strawberry.field(
        description="Template versions by name then version, filtered.", directives=[page_size(), *partner()]
    )
    async def templates(
        self,
        info: strawberry.Info,
        status: TemplateStatus | None = None,
        category_id: strawberry.ID | None = None,
        lineage_id: strawberry.ID | None = None,
        enabled_only: bool = False,
        latest_only: bool = False,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Template]:
        offset, limit = page_window(first, after)
        repo = template_repository(info)
        lineage_ids = None
        if enabled_only:
            info.context.caller.require_tenant()
            lineage_ids = await repo.enabled_lineage_ids()
        flt = TemplateFilter(
            status=status.value if status is not None else None,
            category_id=str(category_id) if category_id is not None else None,
            lineage_id=str(lineage_id) if lineage_id is not None else None,
            lineage_ids=lineage_ids,
            latest_only=latest_only,
        )
        rows, total = await repo.list_templates(flt, offset, limit)
        return build_connection([Template.from_row(row) for row in rows], offset=offset, total=total)

    @strawberry.field(directives=partner(), description="One library field (position 0); NOT_FOUND when missing.")
    async def template_field(self, info: strawberry.Info, id: strawberry.ID) -> TemplateField:
        row = await loaders.field_by_id(info.context).load(str(id))
        if row is None:
            raise not_found("template field", str(id))
        return TemplateField.from_row(row)

    @strawberry.field(description="The field library by key.", directives=[page_size(), *partner()])
    async def template_fields(
        self,
        info: strawberry.Info,
        type: FieldType | None = None,
        key: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[TemplateField]:
        offset, limit = page_window(first, after)
        rows, total = await template_repository(info).list_fields(
            field_type=type.value if type is not None else None, key=key, offset=offset, limit=limit
        )
        return build_connection([TemplateField.from_row(row) for row in rows], offset=offset, total=total)

    @strawberry.field(
        directives=[*authenticated(), page_size(), *internal()],
        description="The templates audit trail, newest first (platform administrators only).",
    )
    async def template_audit_log(
        self,
        info: strawberry.Info,
        object_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[TemplateAuditEntry]:
        info.context.caller.require_platform_admin()
        offset, limit = page_window(first, after)
        rows, total = await template_repository(info).audit_entries(
            str(object_id) if object_id is not None else None, offset, limit
        )
        return build_connection([TemplateAuditEntry.from_row(row) for row in rows], offset=offset, total=total)


def build() -> SubgraphSchema:
    """The templates subgraph's federation schema."""
    from subgraphs.templates.subscriptions import Subscription  # it imports this module's types

    return build_schema(
        query=Query, mutation=Mutation, subscription=Subscription, types=[Template, TemplateField, Category]
    )


# Re-exported: subscriptions.py and tests import the types from here.
__all__ = [
    "EVENTS",
    "WRITE",
    "Category",
    "CreateTemplateFieldInput",
    "CreateTemplateInput",
    "Mutation",
    "Query",
    "Template",
    "TemplateAuditEntry",
    "TemplateField",
    "UpdateTemplateDraftInput",
    "build",
]
