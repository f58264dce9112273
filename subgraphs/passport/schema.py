"""GraphQL surface of the passport subgraph: Passport, its versions and audit trail, the public view.

Resolvers stay thin: reads go through the per-request loaders, writes through
:mod:`subgraphs.passport.domain` inside :func:`~subgraphs.common.audit.run_mutation`.
``Product``, ``Template``, ``Tenant`` and ``User`` are other subgraphs' entities,
declared here by key only (plus the fields this subgraph adds to them).

Authorization is declared with the federation directives and enforced by the gateway
and again here (:mod:`subgraphs.common.authz`):

* ``Passport`` is ``@authenticated``: nothing of a tenant's passport is public except
  through ``publicPassport`` (PUBLIC fields of the latest published version), and an
  anonymous ``_entities`` call resolves no passport.
* A value is readable at its field's access level: PUBLIC values in ``value`` /
  ``values``; RESTRICTED values in ``restrictedValue`` / ``restrictedValues``, which
  need the ``passport:restricted`` scope (authorities and recyclers) or
  ``passport:write`` (the tenant's own writers); CONFIDENTIAL values in
  ``confidentialValue`` / ``confidentialValues``, which need the
  ``passport.confidential:read`` policy. Texts that hold every value (a version's
  ``content``, audit ``before``/``after``) need both.
* Changes need ``passport:write``; publishing also the ``passport:publish`` policy,
  revoking the ``passport:revoke`` policy (Admins by default; Managers when granted).

The field views and the directives above are in :mod:`subgraphs.passport.schema_fields`, the object
types in :mod:`subgraphs.passport.schema_types`, the public view's types in
:mod:`subgraphs.passport.schema_public`, the inputs in :mod:`subgraphs.passport.schema_inputs`, the
mutations in :mod:`subgraphs.passport.schema_mutations`; this module holds the queries, builds the
schema and re-exports the names other code imports from here.
"""

from __future__ import annotations

import strawberry

from subgraphs.common.authz import authenticated
from subgraphs.common.context import RequestContext
from subgraphs.common.errors import not_found
from subgraphs.common.graphql import SubgraphSchema, build_schema
from subgraphs.common.pagination import Connection, build_connection, page_size, page_window
from subgraphs.common.tags import partner
from subgraphs.passport import loaders, repository
from subgraphs.passport.public_cache import load_public_view, public_views
from subgraphs.passport.schema_fields import (
    READ_ALL,
    READ_CONFIDENTIAL,
    READ_RESTRICTED,
    AccessLevel,
    FieldBases,
    FieldType,
    PassportField,
    PassportValue,
)
from subgraphs.passport.schema_inputs import CreatePassportInput, FieldValueInput, PassportFilter
from subgraphs.passport.schema_mutations import EVENTS, WRITE, Mutation, MutationWork
from subgraphs.passport.schema_public import PublicPassport, PublicPassportField, PublicProduct
from subgraphs.passport.schema_types import (
    Passport,
    PassportAuditEntry,
    PassportStatus,
    PassportVersion,
    Product,
    Template,
    Tenant,
    User,
)
from subgraphs.passport.snapshots import snapshots_of


@strawberry.type
class Query:
    """Passport reads."""

    @strawberry.field(
        directives=[*authenticated(), *partner()], description="A passport of your tenant; NOT_FOUND otherwise."
    )
    async def passport(self, info: strawberry.Info, id: strawberry.ID) -> Passport | None:
        ctx: RequestContext = info.context
        ctx.caller.require_tenant()
        row = await loaders.passport_by_id(ctx).load(str(id))
        if row is None:
            raise not_found("Passport", str(id))
        return Passport.shared(info, row)

    @strawberry.field(
        directives=[*authenticated(), page_size(), *partner()], description="Your tenant's passports, by name."
    )
    async def passports(
        self,
        info: strawberry.Info,
        filter: PassportFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Passport]:
        ctx: RequestContext = info.context
        ctx.caller.require_tenant()
        offset, limit = page_window(first, after)
        flt = filter or PassportFilter()
        page, total = await repository.list_passports(
            ctx.session,
            repository.PassportFilter(
                status=flt.status.value if flt.status else None,
                product_id=str(flt.product_id) if flt.product_id else None,
                template_id=str(flt.template_id) if flt.template_id else None,
                name_contains=flt.name_contains,
            ),
            offset=offset,
            limit=limit,
            snapshots=snapshots_of(ctx.extra),
        )
        return build_connection(
            [Passport.from_row(row, snapshot, values) for row, values, snapshot in page], offset=offset, total=total
        )

    @strawberry.field(
        directives=partner(),
        description="The public view of a passport by its uuid (no login needed): PUBLIC fields of the latest "
        "published version. NOT_FOUND for unknown uuids and passports never published.",
    )
    async def public_passport(self, info: strawberry.Info, uuid: str) -> PublicPassport | None:
        ctx: RequestContext = info.context
        # Cached until the passport changes (subgraphs/passport/public_cache.py).
        view = await public_views(ctx.service).get(uuid, lambda: load_public_view(ctx, uuid))
        return PublicPassport.from_view(view)


def build() -> SubgraphSchema:
    """The passport subgraph's federation schema."""
    from subgraphs.passport.subscriptions import Subscription  # it imports this module's types

    return build_schema(
        query=Query, mutation=Mutation, subscription=Subscription, types=[Passport, Product, Template, Tenant, User]
    )


# Re-exported: subscriptions.py, service.py and tests import the schema's names from here.
__all__ = [
    "EVENTS",
    "READ_ALL",
    "READ_CONFIDENTIAL",
    "READ_RESTRICTED",
    "WRITE",
    "AccessLevel",
    "CreatePassportInput",
    "FieldBases",
    "FieldType",
    "FieldValueInput",
    "Mutation",
    "MutationWork",
    "Passport",
    "PassportAuditEntry",
    "PassportField",
    "PassportFilter",
    "PassportStatus",
    "PassportValue",
    "PassportVersion",
    "Product",
    "PublicPassport",
    "PublicPassportField",
    "PublicProduct",
    "Query",
    "Template",
    "Tenant",
    "User",
    "build",
]
