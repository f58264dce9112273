"""Events are published after the mutation's commit, never for a rolled-back one (run_mutation, both backends)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from subgraphs.common import demo
from subgraphs.common.audit import AuditRecord, run_mutation
from subgraphs.common.caller import Caller
from subgraphs.common.context import RequestContext
from subgraphs.common.errors import Conflict, DomainError
from subgraphs.common.events import Event
from subgraphs.common.service import ServiceRuntime
from subgraphs.registry import load_definition
from tests.support.subgraphs import prepare_database, subgraph_settings

ACME = demo.tenant("acme").id
MANAGER = Caller(user_id="u-manager", tenant_id=ACME, roles=("Manager",), scopes=frozenset({"catalog:write"}))


@pytest.fixture
def catalog_url(database_url_factory) -> str:
    """A migrated, empty catalog database of the current backend."""
    url = database_url_factory("catalog")
    prepare_database("catalog", url, seed=False)
    return str(url)


@pytest.fixture
async def runtime(catalog_url: str) -> AsyncIterator[ServiceRuntime]:
    url = catalog_url
    service = ServiceRuntime.create(load_definition("catalog"), subgraph_settings("catalog", url))
    try:
        yield service
    finally:
        for close in reversed(service.closers):
            await close()
        await service.database.dispose()


def context(runtime: ServiceRuntime) -> RequestContext:
    return RequestContext(
        caller=MANAGER, database=runtime.database, settings=runtime.settings, service=runtime, correlation_id="t-1"
    )


def audit_row(runtime: ServiceRuntime, row_id: str) -> sa.Insert:
    return sa.insert(runtime.audit_model).values(
        id=row_id, action="test", object_type="Product", result="OK", tenant_id=ACME
    )


async def test_events_staged_by_a_failing_mutation_are_never_published(runtime: ServiceRuntime) -> None:
    subscriber = runtime.events.subscribe(lambda event: True)
    ctx = context(runtime)

    async def refused(record: AuditRecord) -> None:
        record.emit("Product", "p-1", "updated", ACME)
        raise Conflict("stale version")

    async def violates_a_constraint(record: AuditRecord) -> None:
        record.emit("Product", "p-2", "created", ACME)
        await ctx.session.execute(audit_row(runtime, "dup-1"))
        await ctx.session.execute(audit_row(runtime, "dup-1"))  # primary key taken: IntegrityError, rolled back

    async def crashes(record: AuditRecord) -> None:
        record.emit("Product", "p-3", "created", ACME)
        raise RuntimeError("boom")

    for work in (refused, violates_a_constraint, crashes):
        with pytest.raises((DomainError, RuntimeError)):
            await run_mutation(ctx, action="test", object_type="Product", work=work)
    assert await subscriber.get(timeout=0.2) is None
    assert runtime.events.published == 0

    async def succeeds(record: AuditRecord) -> str:
        record.emit("Product", "p-4", "updated", ACME, categoryId="c-1", isFeatured=True)
        record.emit("Product", "p-5", "created", ACME)
        return "done"

    assert await run_mutation(ctx, action="test", object_type="Product", work=succeeds) == "done"
    first, second = await subscriber.get(timeout=1), await subscriber.get(timeout=1)
    assert isinstance(first, Event) and isinstance(second, Event)
    assert (first.key, first.kind, first.tenant_id, dict(first.attributes)) == (
        "p-4",
        "updated",
        ACME,
        {"categoryId": "c-1", "isFeatured": "true"},
    )
    assert second.key == "p-5"
    assert tuple(map(int, first.id.split("-"))) < tuple(map(int, second.id.split("-")))
    await ctx.aclose()
