"""Templates subscriptions: new published template versions.

Templates belong to the platform, not to a tenant: their events carry no tenant, and every
signed-in caller may learn of a newly published version (as ``templates`` lists it to everyone).
Events are staged by ``schema_mutations._mutate`` and published after the commit.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry

from subgraphs.common.authz import authenticated
from subgraphs.common.events import Event
from subgraphs.common.subscriptions_stream import watch
from subgraphs.templates import loaders
from subgraphs.templates.schema import Template

TEMPLATE = "Template"


async def _template(ctx: Any, event: Event) -> Template | None:
    template: Template | None = await loaders.template_by_id(ctx).load(event.key)
    return template


@strawberry.type
class Subscription:
    """Template publications, as they commit."""

    @strawberry.subscription(
        directives=authenticated(),
        description="Each template version as it is published (optionally only those of one category): what "
        "tenants can now create passports from.",
    )
    async def template_published(
        self, info: strawberry.Info, category_id: strawberry.ID | None = None
    ) -> AsyncGenerator[Template, None]:
        ctx = info.context
        category = str(category_id) if category_id is not None else None

        def match(event: Event) -> bool:
            return (
                event.typename == TEMPLATE
                and event.kind == "published"
                and event.tenant_id is None
                and (category is None or event.attribute("categoryId") == category)
            )

        return await watch(info, match, lambda event: _template(ctx, event))  # type: ignore[return-value]
