"""A mutation's declared event (run_mutation's ``event``, a MutationEvent): staged from the work's result, one per
row, published after the commit, never for a rolled-back mutation."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from subgraphs.common.audit import AuditRecord, MutationEvent, event_table, run_mutation
from subgraphs.common.errors import Conflict
from subgraphs.common.events import Event
from subgraphs.common.service import ServiceRuntime
from tests.subscriptions.subgraphs.test_staging import ACME, catalog_url, context, runtime

__all__ = ["catalog_url", "runtime"]  # the fixtures of test_staging


@dataclass(frozen=True)
class Row:
    id: str
    tenant_id: str | None
    category_id: str | None
    is_featured: bool


def attributes(row: Row) -> dict[str, object]:
    return {"categoryId": row.category_id, "isFeatured": row.is_featured}


EVENTS = event_table("Product", {"createRow": "created", "failRow": "updated"}, attributes=attributes)
EVENTS["importRows"] = replace(EVENTS["createRow"], rows=list)
IN_ACTING_TENANT: MutationEvent[str] = MutationEvent("Membership", "removed", key=str, tenant=lambda _, c: c.tenant_id)


async def test_declared_events_are_staged_from_the_result_and_published_after_the_commit(
    runtime: ServiceRuntime,
) -> None:
    subscriber = runtime.events.subscribe(lambda event: True)
    ctx = context(runtime)

    async def fails(record: AuditRecord) -> Row:
        raise Conflict("stale version")

    with pytest.raises(Conflict):
        await run_mutation(ctx, action="failRow", object_type="Product", work=fails, event=EVENTS["failRow"])
    assert await subscriber.get(timeout=0.2) is None

    async def creates(record: AuditRecord) -> Row:
        return Row("p-1", "t-other", None, True)

    async def imports(record: AuditRecord) -> list[Row]:
        return [Row("p-2", ACME, "c-1", False), Row("p-3", ACME, "c-2", True)]

    async def removes(record: AuditRecord) -> str:
        return "u-1"

    assert (await run_mutation(ctx, action="c", object_type="Product", work=creates, event=EVENTS["createRow"])).id
    assert len(await run_mutation(ctx, action="i", object_type="Product", work=imports, event=EVENTS["importRows"]))
    assert await run_mutation(ctx, action="r", object_type="User", work=removes, event=IN_ACTING_TENANT) == "u-1"
    published = [await subscriber.get(timeout=1) for _ in range(4)]
    assert all(isinstance(event, Event) for event in published)
    assert [(e.typename, e.key, e.kind, e.tenant_id, dict(e.attributes)) for e in published] == [  # type: ignore[union-attr]
        ("Product", "p-1", "created", "t-other", {"isFeatured": "true"}),
        ("Product", "p-2", "created", ACME, {"categoryId": "c-1", "isFeatured": "false"}),
        ("Product", "p-3", "created", ACME, {"categoryId": "c-2", "isFeatured": "true"}),
        ("Membership", "u-1", "removed", ACME, {}),
    ]
    assert runtime.events.published == 4
    await ctx.aclose()
