"""Passport subscriptions: changes of one passport, of the tenant's passports, publications, the public view.

Events come from the passport mutations (``schema._mutate`` stages one per change; kinds
created, updated, published, revised, revoked, archived) through the subgraph's bus, after
the commit. Each payload is the passport as it is when the event is delivered, loaded in the
subscriber's tenant: another tenant's events never match, and its rows would not load.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry

from subgraphs.common.authz import authenticated
from subgraphs.common.errors import NotFound, not_found
from subgraphs.common.events import Event
from subgraphs.common.subscriptions_stream import tenant_events, watch
from subgraphs.passport import loaders
from subgraphs.passport.public_cache import load_public_view
from subgraphs.passport.schema import Passport, PassportStatus, PublicPassport

PASSPORT = "Passport"
# What changes the public view behind a passport's QR code.
PUBLIC_KINDS = frozenset({"published", "revoked", "archived"})


@strawberry.input(description="Which passport events to receive; every condition given must hold.")
class PassportEventFilter:
    """Conditions of passportEvents, on the passport as the change left it."""

    status: PassportStatus | None = None
    product_id: strawberry.ID | None = None
    template_id: strawberry.ID | None = None


def _admits(flt: PassportEventFilter | None) -> Any:
    wanted = {
        "status": flt.status.value if flt and flt.status else None,
        "productId": str(flt.product_id) if flt and flt.product_id else None,
        "templateId": str(flt.template_id) if flt and flt.template_id else None,
    }

    def match(event: Event) -> bool:
        return all(value is None or event.attribute(name) == value for name, value in wanted.items())

    return match


async def _passport(ctx: Any, event: Event) -> Passport | None:
    row = await loaders.passport_by_id(ctx).load(event.key)
    return None if row is None else Passport.from_row(row)


@strawberry.type
class Subscription:
    """Passport changes, as they commit."""

    @strawberry.subscription(
        directives=authenticated(),
        description="Every change of one passport of your tenant (values, status, versions); NOT_FOUND otherwise.",
    )
    async def passport_changed(self, info: strawberry.Info, id: strawberry.ID) -> AsyncGenerator[Passport, None]:
        ctx = info.context
        key = str(id)

        async def prepare() -> None:
            ctx.caller.require_tenant()
            if await loaders.passport_by_id(ctx).load(key) is None:
                raise not_found(PASSPORT, key)

        match = tenant_events(ctx, PASSPORT, lambda event: event.key == key)
        return await watch(info, match, lambda event: _passport(ctx, event), prepare=prepare)  # type: ignore[return-value]

    @strawberry.subscription(
        directives=authenticated(),
        description="Every change of your tenant's passports that matches the filter (status, product, template "
        "as the change left them).",
    )
    async def passport_events(
        self, info: strawberry.Info, filter: PassportEventFilter | None = None
    ) -> AsyncGenerator[Passport, None]:
        ctx = info.context

        async def prepare() -> None:
            ctx.caller.require_tenant()

        match = tenant_events(ctx, PASSPORT, _admits(filter))
        return await watch(info, match, lambda event: _passport(ctx, event), prepare=prepare)  # type: ignore[return-value]

    @strawberry.subscription(
        directives=authenticated(), description="Your tenant's passports as each is published (a new version)."
    )
    async def passport_published(self, info: strawberry.Info) -> AsyncGenerator[Passport, None]:
        ctx = info.context

        async def prepare() -> None:
            ctx.caller.require_tenant()

        match = tenant_events(ctx, PASSPORT, lambda event: event.kind == "published")
        return await watch(info, match, lambda event: _passport(ctx, event), prepare=prepare)  # type: ignore[return-value]

    @strawberry.subscription(
        description="The public view of a passport by its uuid (no login needed), each time it changes: a new "
        "published version, revocation, archiving. PUBLIC fields only, as publicPassport shows them."
    )
    async def public_passport_changed(self, info: strawberry.Info, uuid: str) -> AsyncGenerator[PublicPassport, None]:
        ctx = info.context

        def match(event: Event) -> bool:
            return event.typename == PASSPORT and event.kind in PUBLIC_KINDS and event.attribute("uuid") == uuid

        async def load(_event: Event) -> PublicPassport | None:
            # from the database, not the public-view cache: this replica's cache may not have heard of
            # the change yet (with Redis, its invalidation may arrive after the event)
            try:
                return PublicPassport.from_view(await load_public_view(ctx, uuid))
            except NotFound:
                return None  # not published (any more): nothing to show

        return await watch(info, match, load)  # type: ignore[return-value]
