"""Every mutation, called by tenant A with tenant B's ids, through the gateway and on the owning
subgraph directly: an error (NOT_FOUND for B's objects), never B's data, and B unchanged afterwards,
both in the databases (every row of B) and as B reads its objects back through the gateway."""

from __future__ import annotations

import pytest

from tests.isolation import schema_model
from tests.isolation.checks import assert_no_leak, codes, objects, root_value, strings
from tests.isolation.mutation_table import MUTATIONS, MutationCase, params
from tests.isolation.stack import Stack
from tests.isolation.tenants import (
    A_ADMIN,
    ATTACKERS,
    B_ADMIN,
    B_DRAFT,
    B_MEMBER_IDS,
    B_ONLY_TEMPLATE,
    B_PRODUCT,
    B_PRODUCT_FREE,
    B_PUBLISHED,
    B_VIEWER,
    A,
    B,
)

TARGETS = ("gateway", "subgraph")


def readback_query() -> str:
    """What B reads back of everything the mutations aim at (one operation, through the gateway)."""
    s = schema_model.supergraph()

    def sel(type_name: str, depth: int = 1) -> str:
        return schema_model.selection(s, type_name, depth)

    return f"""query($p1: ID!, $p2: ID!, $d: ID!, $pub: ID!, $b: ID!, $tpl: ID!) {{
      p1: product(id: $p1) {sel("Product")}
      p2: product(id: $p2) {sel("Product")}
      draft: passport(id: $d) {sel("Passport")}
      published: passport(id: $pub) {sel("Passport")}
      tenant(id: $b) {sel("Tenant")}
      users(first: 100) {sel("UserConnection")}
      policies {sel("PolicyGrant")}
      enabled: templates(enabledOnly: true) {{ totalCount nodes {{ id enabledForMyTenant }} }}
      template(id: $tpl) {sel("Template")}
    }}"""


READBACK_VARIABLES = {
    "p1": B_PRODUCT.id,
    "p2": B_PRODUCT_FREE.id,
    "d": B_DRAFT.id,
    "pub": B_PUBLISHED.id,
    "b": B.id,
    "tpl": B_ONLY_TEMPLATE.id,
}


def b_view(stack: Stack) -> dict:
    """What B sees of its objects now."""
    body = stack.gql("gateway", readback_query(), READBACK_VARIABLES, stack.token(B_ADMIN))
    assert "errors" not in body, body
    return body


@pytest.fixture(scope="session")
def b_before(stack: Stack) -> dict:
    """What B saw before tenant A's first attempt (nothing A does may change it)."""
    return b_view(stack)


def document(case: MutationCase, schema: schema_model.Schema) -> str:
    result = next(f for f in schema.root("Mutation") if f.name == case.field).type_name
    selection = schema_model.selection(schema, result, 2) if result not in schema.leaves else ""
    return f"mutation{case.params} {{ {case.field}{case.args} {selection} }}"


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(("case", "attacker"), params(MUTATIONS))
def test_tenant_a_changes_nothing_of_tenant_b(
    stack: Stack, b_before: dict, case: MutationCase, attacker: str, target: str
) -> None:
    graph = next(f.graph for f in schema_model.supergraph().root("Mutation") if f.name == case.field)
    assert graph is not None
    name = "gateway" if target == "gateway" else graph
    schema = schema_model.supergraph() if target == "gateway" else schema_model.subgraph(graph)
    variables = case.bound(target)
    token: str | None = None
    if case.caller == "admin":
        user, tenant_key, _ = ATTACKERS[attacker]
        token = stack.token(user, tenant_key)
    elif case.caller == "fresh":
        session = stack.login(A_ADMIN)
        token = str(session["accessToken"])
        variables = {k: (session["refreshToken"] if v == "{refresh}" else v) for k, v in variables.items()}
    rows_of_b = stack.databases.snapshot(B.id, B_MEMBER_IDS)

    body = stack.gql(name, document(case, schema), variables, token)
    if case.field == "inviteUser":  # undo: whoever was invited must not stay a member of A for later cases
        undo = "mutation($u: ID!) { removeMember(userId: $u) }"
        invited = (root_value(body, case.field) or {}).get("id")
        for user_id in {B_VIEWER.id, invited} - {None}:
            stack.gql("gateway", undo, {"u": user_id}, stack.token(A_ADMIN))

    if case.field == "logoutEverywhere":
        stack.forget_tokens(A_ADMIN)  # every session of A's Admin ended, the cached one too
    after = stack.databases.snapshot(B.id, B_MEMBER_IDS)
    changed = sorted(k for k in rows_of_b if rows_of_b[k] != after.get(k))
    assert not changed, f"{case.id} via {target} changed tenant B's rows in {changed}"
    assert b_view(stack) == b_before, f"{case.id} via {target}: B reads something else back"
    assert_no_leak(stack, body, A.id if case.caller != "anonymous" else None, strings(case.variables))
    if case.denied is not None:
        assert root_value(body, case.field) is None, f"{case.id} answered data: {body}"
        got = codes(body)
        assert set(got) & case.denied, (
            f"{case.id} via {target} should fail with {sorted(case.denied)}, got {got}: {body}"
        )
    else:
        for tenant in objects(body.get("data"), "Tenant"):
            assert tenant.get("id") in (A.id, None), f"{case.id} acted in tenant {tenant.get('id')}"
