"""The passport subgraph's mutations: passports created, filled in, published, revised, revoked and archived.

Each runs through :func:`subgraphs.common.audit.run_mutation` (one transaction, audited whether it
succeeds or fails, the passport events of :data:`EVENTS` published after the commit); after the
commit the passport's cached public view is dropped everywhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry

from subgraphs.common.audit import AuditRecord, event_table, run_mutation
from subgraphs.common.authz import policy, requires_scopes
from subgraphs.common.context import RequestContext
from subgraphs.passport import domain
from subgraphs.passport.models import Passport as PassportRow
from subgraphs.passport.peers import HttpPeers
from subgraphs.passport.public_cache import public_views
from subgraphs.passport.schema_inputs import CreatePassportInput, FieldValueInput, pairs
from subgraphs.passport.schema_types import Passport

MutationWork = Callable[[AuditRecord], Awaitable[PassportRow]]


def _event_attributes(row: PassportRow) -> dict[str, object]:
    return {"status": row.status, "productId": row.product_id, "templateId": row.template_id, "uuid": row.uuid}


# The passport event each mutation stages for subscriptions (subgraphs/passport/subscriptions.py).
EVENTS = event_table(
    "Passport",
    {
        "createPassport": "created",
        "setPassportValues": "updated",
        "publishPassport": "published",
        "revisePassport": "revised",
        "revokePassport": "revoked",
        "archivePassport": "archived",
    },
    attributes=_event_attributes,
)


async def _mutate(info: strawberry.Info, action: str, work: MutationWork, object_id: str | None = None) -> Passport:
    row = await run_mutation(
        info.context, action=action, object_type="Passport", work=work, object_id=object_id, event=EVENTS[action]
    )
    await public_views(info.context.service).forget(row.uuid)  # committed: drop its public view everywhere
    return Passport.from_row(row)


# Every passport change needs the passport:write scope (Managers and Admins have it).
WRITE = requires_scopes("passport:write")


@strawberry.type
class Mutation:
    """Passport changes; each needs the passport:write scope and the Manager role, and is audited."""

    @strawberry.mutation(
        directives=WRITE, description="A new DRAFT passport for a product from a PUBLISHED template of its category."
    )
    async def create_passport(self, info: strawberry.Info, input: CreatePassportInput) -> Passport:
        ctx: RequestContext = info.context
        peers = HttpPeers(ctx.settings.service_urls, ctx.caller.forwarded_headers())
        return await _mutate(
            info,
            "createPassport",
            lambda record: domain.create_passport(
                ctx.session,
                ctx.caller,
                peers,
                record,
                name=input.name,
                product_id=str(input.product_id),
                template_id=str(input.template_id),
                values=pairs(input.values),
            ),
        )

    @strawberry.mutation(
        directives=WRITE,
        description="Set (or clear with null) values of a DRAFT; every invalid value is reported in "
        "extensions.fieldErrors. CONFLICT when expectedVersion is stale.",
    )
    async def set_passport_values(
        self, info: strawberry.Info, id: strawberry.ID, expected_version: int, values: list[FieldValueInput]
    ) -> Passport:
        ctx: RequestContext = info.context
        return await _mutate(
            info,
            "setPassportValues",
            lambda record: domain.set_values(
                ctx.session,
                ctx.caller,
                record,
                passport_id=str(id),
                expected_version=expected_version,
                values=pairs(values),
            ),
            str(id),
        )

    @strawberry.mutation(
        directives=WRITE + policy("passport:publish"),
        description="Publish the DRAFT as the next immutable version: every required field must have a value; "
        "the version's SHA-256 is chained to the previous version's. Needs the passport:publish policy "
        "(Admins; Managers when granted).",
    )
    async def publish_passport(
        self, info: strawberry.Info, id: strawberry.ID, expected_version: int | None = None
    ) -> Passport:
        ctx: RequestContext = info.context
        return await _mutate(
            info,
            "publishPassport",
            lambda record: domain.publish(
                ctx.session,
                ctx.caller,
                HttpPeers(ctx.settings.service_urls, ctx.caller.forwarded_headers()),
                record,
                passport_id=str(id),
                expected_version=expected_version,
            ),
            str(id),
        )

    @strawberry.mutation(
        directives=WRITE,
        description="Start the next version of a PUBLISHED passport: it becomes a DRAFT again while "
        "publicPassport keeps serving the latest published version.",
    )
    async def revise_passport(
        self, info: strawberry.Info, id: strawberry.ID, expected_version: int | None = None
    ) -> Passport:
        ctx: RequestContext = info.context
        return await _mutate(
            info,
            "revisePassport",
            lambda record: domain.revise(
                ctx.session, ctx.caller, record, passport_id=str(id), expected_version=expected_version
            ),
            str(id),
        )

    @strawberry.mutation(
        directives=WRITE + policy("passport:revoke"),
        description="Revoke a published passport for good; the public view shows the reason. Needs the "
        "passport:revoke policy (Admins; Managers when granted).",
    )
    async def revoke_passport(
        self, info: strawberry.Info, id: strawberry.ID, reason: str, expected_version: int | None = None
    ) -> Passport:
        ctx: RequestContext = info.context
        return await _mutate(
            info,
            "revokePassport",
            lambda record: domain.revoke(
                ctx.session, ctx.caller, record, passport_id=str(id), reason=reason, expected_version=expected_version
            ),
            str(id),
        )

    @strawberry.mutation(
        directives=WRITE, description="Archive a published passport (end of life); it stays publicly readable."
    )
    async def archive_passport(
        self, info: strawberry.Info, id: strawberry.ID, expected_version: int | None = None
    ) -> Passport:
        ctx: RequestContext = info.context
        return await _mutate(
            info,
            "archivePassport",
            lambda record: domain.archive(
                ctx.session, ctx.caller, record, passport_id=str(id), expected_version=expected_version
            ),
            str(id),
        )
