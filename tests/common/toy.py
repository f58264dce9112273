"""A toy subgraph built only from subgraphs.common, to test the shared layer on its own."""

from __future__ import annotations

from pathlib import Path

import strawberry
from sqlmodel import Field, select

from subgraphs.common.audit import AuditEntryBase, AuditRecord, run_mutation
from subgraphs.common.errors import NotFound
from subgraphs.common.graphql import SubgraphSchema, build_schema
from subgraphs.common.loaders import counts_grouped_by, rows_by_column
from subgraphs.common.models import TenantOwned, id_field
from subgraphs.common.service import ServiceDefinition


class Widget(TenantOwned, table=True):
    __tablename__ = "testtoy_widgets"
    id: str = id_field()
    name: str = Field(max_length=80)


class ToyAudit(AuditEntryBase, table=True):
    __tablename__ = "testtoy_audit_log"


@strawberry.federation.type(keys=["id"])
class WidgetType:
    id: strawberry.ID
    name: str

    @classmethod
    async def resolve_reference(cls, info: strawberry.Info, id: strawberry.ID) -> WidgetType | None:
        ctx = info.context
        row = await ctx.loader("widget", lambda: rows_by_column(ctx.session, Widget, Widget.id)).load(id)
        return WidgetType(id=strawberry.ID(row.id), name=row.name) if row else None


@strawberry.type
class WhoAmI:
    user_id: str | None
    tenant_id: str | None
    roles: list[str]
    scopes: list[str]
    policies: list[str]
    platform_admin: bool
    acting_as_platform_admin: bool
    tenant_class: str | None


@strawberry.type
class Query:
    @strawberry.field
    def whoami(self, info: strawberry.Info) -> WhoAmI:
        caller = info.context.caller
        return WhoAmI(
            user_id=caller.user_id,
            tenant_id=caller.tenant_id,
            roles=list(caller.roles),
            scopes=sorted(caller.scopes),
            policies=sorted(caller.policies),
            platform_admin=caller.platform_admin,
            acting_as_platform_admin=caller.acting_as_platform_admin,
            tenant_class=caller.tenant_class,
        )

    @strawberry.field
    async def widgets(self, info: strawberry.Info) -> list[WidgetType]:
        rows = (await info.context.session.exec(select(Widget).order_by(Widget.name))).all()
        return [WidgetType(id=strawberry.ID(r.id), name=r.name) for r in rows]

    @strawberry.field
    async def widgets_named(self, info: strawberry.Info, name: str) -> int:
        ctx = info.context
        return await ctx.loader("count", lambda: counts_grouped_by(ctx.session, Widget, Widget.name)).load(name)

    @strawberry.field
    def boom(self) -> int:
        raise RuntimeError("database password is hunter2")

    @strawberry.field
    def missing(self) -> int:
        raise NotFound("widget 'x' not found")


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def add_widget(self, info: strawberry.Info, name: str, fail_after_write: bool = False) -> WidgetType:
        ctx = info.context

        async def work(record: AuditRecord) -> WidgetType:
            widget = Widget(name=name)
            ctx.session.add(widget)
            await ctx.session.flush()
            record.object_id = widget.id
            record.after = {"name": name}
            if fail_after_write:
                raise NotFound("simulated failure after the row was written")
            return WidgetType(id=strawberry.ID(widget.id), name=widget.name)

        return await run_mutation(ctx, action="addWidget", object_type="Widget", work=work)


def build() -> SubgraphSchema:
    return build_schema(query=Query, mutation=Mutation, types=[WidgetType])


DEFINITION = ServiceDefinition(
    name="testtoy", schema_factory=build, audit_model=ToyAudit, migrations_dir=Path(__file__).parent
)
