"""Identity subscriptions: the signed-in user's memberships (invited, accepted, roles changed, removed).

Membership events are staged by the identity mutations (key = the user, tenant = the tenant of
the membership) and published after the commit. A subscriber receives the events of its own
account only, in whichever tenant, as the ``User`` it is (``memberships`` shows the change), the
same view ``me`` gives. Losing the membership of the tenant the subscription acts in ends it
with FORBIDDEN (the caller is checked again on that very event).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry

from subgraphs.common.authz import authenticated
from subgraphs.common.events import Event
from subgraphs.common.subscriptions_stream import watch
from subgraphs.identity.loaders import users_by_id
from subgraphs.identity.schema import MEMBERSHIP, User, user_view


async def _me(ctx: Any, _event: Event) -> User | None:
    row = await users_by_id(ctx).load(ctx.caller.user_id)
    return None if row is None else user_view(row, is_self=True, active_tenant_id=ctx.caller.tenant_id)


@strawberry.type
class Subscription:
    """Changes of the signed-in user's memberships, as they commit."""

    @strawberry.subscription(
        directives=authenticated(),
        description="You, each time one of your memberships changes (invited, accepted, roles changed, removed); "
        "read `memberships` for the new state. Removal from the tenant you act in ends the subscription "
        "with FORBIDDEN.",
    )
    async def membership_changed(self, info: strawberry.Info) -> AsyncGenerator[User, None]:
        ctx = info.context
        user_id = ctx.caller.user_id

        def match(event: Event) -> bool:
            return event.typename == MEMBERSHIP and user_id is not None and event.key == user_id

        return await watch(info, match, lambda event: _me(ctx, event))  # type: ignore[return-value]
