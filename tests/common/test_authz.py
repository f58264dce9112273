"""The shared authorization helper on a small Strawberry schema: AND/OR semantics, type-level
directives, error codes, and the denied-mutation audit entry over a real server."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import strawberry
from sqlmodel import SQLModel, select

from subgraphs.common.app import create_app
from subgraphs.common.audit import AuditEntryBase
from subgraphs.common.authz import authenticated, policy, policy_names, requirements, requires_scopes
from subgraphs.common.caller import ANONYMOUS, Caller
from subgraphs.common.db import Database
from subgraphs.common.graphql import SubgraphSchema, build_schema
from subgraphs.common.service import ServiceDefinition
from subgraphs.common.settings import Settings
from tests.support.client import gql
from tests.support.servers import ServerThread


@strawberry.federation.type(keys=["id"], directives=authenticated())
class Secret:
    id: strawberry.ID
    text: str
    cost: int | None = strawberry.field(directives=policy("secret.cost:read"))

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Secret:
        return cls(id=id, text=f"secret {id}", cost=42)


@strawberry.type
class Item:
    name: str
    note: str | None = strawberry.field(default=None, directives=requires_scopes("notes:read"))


@strawberry.type
class Query:
    @strawberry.field
    def open(self) -> str:
        return "open"

    @strawberry.field(directives=authenticated())
    def mine(self) -> str | None:
        return "mine"

    @strawberry.field(directives=requires_scopes(["a", "b"], "c"))
    def a_and_b_or_c(self) -> str | None:
        return "ok"

    @strawberry.field(directives=requires_scopes("a") + requires_scopes("b"))
    def a_then_b(self) -> str | None:
        return "ok"

    @strawberry.field(directives=policy(["p", "q"], "r"))
    def p_and_q_or_r(self) -> str | None:
        return "ok"

    @strawberry.field(directives=requires_scopes("w") + policy("publish"))
    def scope_and_policy(self) -> str | None:
        return "ok"

    @strawberry.field
    def secret(self) -> Secret | None:
        return Secret(id=strawberry.ID("1"), text="hidden", cost=7)

    @strawberry.field
    def items(self) -> list[Item]:
        return [Item(name=f"item {i}", note=f"note {i}") for i in range(3)]


class AuthzAudit(AuditEntryBase, table=True):
    __tablename__ = "testauthz_audit_log"


@strawberry.type
class Mutation:
    @strawberry.mutation(directives=requires_scopes("things:write"))
    def change_thing(self, id: strawberry.ID) -> str | None:
        return f"changed {id}"


def build() -> SubgraphSchema:
    return build_schema(query=Query, mutation=Mutation, types=[Secret])


SCHEMA = build()


@dataclass
class Context:
    caller: Caller


def run(query: str, caller: Caller = ANONYMOUS, variables: dict[str, Any] | None = None) -> Any:
    return asyncio.run(SCHEMA.execute(query, variable_values=variables, context_value=Context(caller)))


def user(*, scopes: tuple[str, ...] = (), policies: tuple[str, ...] = ()) -> Caller:
    return Caller(
        user_id="U1", tenant_id="T1", roles=("Viewer",), scopes=frozenset(scopes), policies=frozenset(policies)
    )


def codes(result: Any) -> list[tuple[str, str]]:
    return [(".".join(str(p) for p in e.path), e.extensions["code"]) for e in result.errors or []]


def test_open_fields_need_nothing_and_authenticated_needs_a_user() -> None:
    anonymous = run("{ open mine }")
    assert anonymous.data == {"open": "open", "mine": None}
    assert codes(anonymous) == [("mine", "UNAUTHENTICATED")]
    assert anonymous.errors[0].message == "Sign in to do this"
    signed_in = run("{ open mine }", user())
    assert signed_in.errors is None and signed_in.data == {"open": "open", "mine": "mine"}


@pytest.mark.parametrize(
    ("scopes", "allowed"),
    [((), False), (("a",), False), (("b",), False), (("a", "b"), True), (("c",), True), (("a", "c", "x"), True)],
)
def test_inner_scope_lists_and_outer_lists_or(scopes: tuple[str, ...], allowed: bool) -> None:
    result = run("{ aAndBOrC }", user(scopes=scopes))
    assert result.data == {"aAndBOrC": "ok" if allowed else None}
    if not allowed:
        assert codes(result) == [("aAndBOrC", "FORBIDDEN")]
        assert result.errors[0].message == "This needs one scope set of: a and b; c"
        assert result.errors[0].extensions["requires"] == [["a", "b"], ["c"]]


def test_several_directives_on_one_field_must_all_hold() -> None:
    assert run("{ aThenB }", user(scopes=("a",))).data == {"aThenB": None}
    assert run("{ aThenB }", user(scopes=("a", "b"))).data == {"aThenB": "ok"}
    denied = run("{ scopeAndPolicy }", user(scopes=("w",)))
    assert codes(denied) == [("scopeAndPolicy", "FORBIDDEN")]
    assert denied.errors[0].message == "This needs the publish permission in the active tenant"
    assert run("{ scopeAndPolicy }", user(policies=("publish",))).data == {"scopeAndPolicy": None}
    assert run("{ scopeAndPolicy }", user(scopes=("w",), policies=("publish",))).data == {"scopeAndPolicy": "ok"}


@pytest.mark.parametrize(
    ("policies", "allowed"), [((), False), (("p",), False), (("p", "q"), True), (("r",), True), (("q", "r"), True)]
)
def test_inner_policy_lists_and_outer_lists_or(policies: tuple[str, ...], allowed: bool) -> None:
    result = run("{ pAndQOrR }", user(policies=policies))
    assert result.data == {"pAndQOrR": "ok" if allowed else None}
    assert codes(result) == ([] if allowed else [("pAndQOrR", "FORBIDDEN")])


def test_anonymous_callers_are_unauthenticated_for_scopes_and_policies_too() -> None:
    result = run("{ aAndBOrC pAndQOrR }")
    assert codes(result) == [("aAndBOrC", "UNAUTHENTICATED"), ("pAndQOrR", "UNAUTHENTICATED")]


def test_a_type_level_directive_guards_fields_returning_the_type_and_its_own_fields() -> None:
    anonymous = run("{ secret { text } }")
    assert anonymous.data == {"secret": None}
    assert codes(anonymous) == [("secret", "UNAUTHENTICATED")]
    # through _entities the type's own fields are guarded (null propagates to the entity)
    entities = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Secret { text } } }"

    def reps() -> dict[str, Any]:  # Strawberry pops __typename from the representation
        return {"r": [{"__typename": "Secret", "id": "9"}]}

    through_entities = run(entities, variables=reps())
    assert through_entities.data == {"_entities": [None]}
    assert codes(through_entities) == [("_entities.0.text", "UNAUTHENTICATED")]
    assert run(entities, user(), reps()).data == {"_entities": [{"text": "secret 9"}]}
    # a field-level policy inside the type adds to the type's requirement
    viewer = run("{ secret { text cost } }", user())
    assert viewer.data == {"secret": {"text": "hidden", "cost": None}}
    assert codes(viewer) == [("secret.cost", "FORBIDDEN")]
    granted = run("{ secret { text cost } }", user(policies=("secret.cost:read",)))
    assert granted.data == {"secret": {"text": "hidden", "cost": 7}}


def test_nullable_list_item_fields_are_nulled_one_by_one() -> None:
    result = run("{ items { name note } }", user())
    assert result.data == {"items": [{"name": f"item {i}", "note": None} for i in range(3)]}
    assert codes(result) == [(f"items.{i}.note", "FORBIDDEN") for i in range(3)]
    assert run("{ items { note } }", user(scopes=("notes:read",))).data == {
        "items": [{"note": f"note {i}"} for i in range(3)]
    }


def test_the_requirement_table_lists_only_annotated_fields() -> None:
    table = requirements(SCHEMA._schema)
    assert ("Query", "open") not in table and ("Query", "items") not in table and ("Item", "name") not in table
    assert table[("Query", "secret")].authenticated  # through its return type
    assert table[("Secret", "text")].authenticated  # through its parent type
    assert table[("Item", "note")].scopes == ((frozenset({"notes:read"}),),)
    assert policy_names(SCHEMA._schema) == {"secret.cost:read", "p", "q", "r", "publish"}


def test_introspection_and_the_service_sdl_are_not_guarded() -> None:
    assert run("{ __schema { queryType { name } } }").errors is None
    sdl = run("{ _service { sdl } }").data["_service"]["sdl"]
    assert '@requiresScopes(scopes: [["a", "b"], ["c"]])' in sdl
    assert '@policy(policies: [["p", "q"], ["r"]])' in sdl
    assert 'type Secret @authenticated @key(fields: "id")' in sdl


# -- a denied mutation is audited, over a real server --------------------------------------------


DEFINITION = ServiceDefinition(
    name="testauthz", schema_factory=build, audit_model=AuthzAudit, migrations_dir=Path(__file__).parent
)


@pytest.fixture
def authz_server(database_url_factory) -> Iterator[tuple[str, str]]:
    url = database_url_factory("authz")

    async def create() -> None:
        database = Database(url)
        async with database.engine.begin() as conn:
            await conn.run_sync(lambda c: SQLModel.metadata.create_all(c, tables=[AuthzAudit.__table__]))
        await database.dispose()

    asyncio.run(create())
    settings = dataclasses.replace(Settings.from_env("testauthz"), database_url=url)
    server = ServerThread(create_app(DEFINITION, settings)).start()
    try:
        yield server.url + "/graphql", url
    finally:
        server.stop()


def audit_rows(url: str) -> list[AuthzAudit]:
    async def read() -> list[AuthzAudit]:
        database = Database(url)
        async with database.system_session() as session:
            rows = list((await session.exec(select(AuthzAudit).order_by(AuthzAudit.created_at))).all())
        await database.dispose()
        return rows

    return asyncio.run(read())


def test_a_denied_mutation_is_answered_null_and_audited(authz_server: tuple[str, str]) -> None:
    endpoint, url = authz_server
    body = gql(endpoint, 'mutation { changeThing(id: "T-1") }', headers={"x-request-id": "corr-authz-1"})
    assert body["data"] == {"changeThing": None}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    rows = audit_rows(url)
    assert [(r.action, r.object_type, r.object_id, r.result, r.correlation_id, r.user_id) for r in rows] == [
        ("changeThing", "Thing", "T-1", "UNAUTHENTICATED", "corr-authz-1", None)
    ]
    assert rows[0].message == "denied by the schema: Sign in to do this"
