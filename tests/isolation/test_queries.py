"""Every root query, called by tenant A's Admin with tenant B's ids, through the gateway and on the
owning subgraph directly: NOT_FOUND for B's objects, A's own rows and counts for lists."""

from __future__ import annotations

import json

import pytest

from tests.isolation import schema_model
from tests.isolation.checks import assert_no_leak, codes, root_value, strings
from tests.isolation.mutation_table import MUTATIONS
from tests.isolation.query_table import NOT_FOUND, QUERIES, QueryCase
from tests.isolation.stack import Stack
from tests.isolation.tenants import A_ADMIN, ATTACKERS, B_ADMIN, NON_PUBLIC_VALUES, A, B, leaked

TARGETS = ("gateway", "subgraph")


def document(case: QueryCase, schema: schema_model.Schema) -> str:
    """The case's operation selecting every field of the result type in ``schema``."""
    field = next(f for f in schema.root("Query") if f.name == case.field)
    return f"query{case.params} {{ {case.field}{case.args} {schema_model.selection(schema, field.type_name)} }}"


def owner(case: QueryCase) -> str:
    graph = next(f.graph for f in schema_model.supergraph().root("Query") if f.name == case.field)
    assert graph is not None
    return graph


def call(stack: Stack, case: QueryCase, target: str, user: str | None, tenant_key: str | None = None) -> dict:
    name = "gateway" if target == "gateway" else owner(case)
    schema = schema_model.supergraph() if target == "gateway" else schema_model.subgraph(name)
    token = stack.token(user, tenant_key) if user else None
    return stack.gql(name, document(case, schema), case.variables, token)


# A's callers, and an anonymous one (a subgraph called directly without identity shows public data only).
CALLERS: dict[str, tuple[str | None, str | None, frozenset[str]]] = {
    **ATTACKERS,
    "anonymous": (None, None, frozenset()),
}
# What a refused anonymous caller may get instead of NOT_FOUND.
ANONYMOUS_REFUSALS = frozenset({"NOT_FOUND", "UNAUTHENTICATED", "UNAUTHORIZED_FIELD_OR_TYPE"})


@pytest.mark.parametrize("attacker", CALLERS)
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("case", QUERIES, ids=lambda c: c.id)
def test_tenant_a_reads_nothing_of_tenant_b(stack: Stack, case: QueryCase, target: str, attacker: str) -> None:
    user, tenant_key, member_of = CALLERS[attacker]
    tenant_id = A.id if user else None
    body = call(stack, case, target, user, tenant_key)
    attempts = frozenset().union(*(strings(m.variables) for m in MUTATIONS)) if case.audit else frozenset()
    assert_no_leak(stack, body, tenant_id, case.sent() | case.public | attempts, member_of)
    value = root_value(body, case.field)
    if case.public:
        hidden = [v for v in NON_PUBLIC_VALUES if v in json.dumps(body)]
        assert not hidden, f"{case.id} shows RESTRICTED/CONFIDENTIAL values {hidden}"
    if case.expect == NOT_FOUND and not (case.by_membership and B.id in member_of):
        assert value is None, f"{case.id} answered {value}"
        expected = {"NOT_FOUND"} if user else ANONYMOUS_REFUSALS
        assert expected & set(codes(body)), f"{case.id} should answer {sorted(expected)}, got {codes(body)}: {body}"
    if case.count is not None and value is not None:
        service, table = case.count
        ours = stack.databases.count(service, table, tenant_id, *case.where)
        assert value["totalCount"] == ours, f"{case.id}: {value['totalCount']} != {ours}"
        # The same count asked by B is B's own: the database count measures what a tenant may see.
        theirs = root_value(call(stack, case, target, B_ADMIN), case.field)
        if theirs is not None:
            assert theirs["totalCount"] == stack.databases.count(service, table, B.id, *case.where)


# B's draft was never published: NOT_FOUND for everyone, B included.
NOT_FOUND_FOR_ALL = frozenset({"publicPassport[B's draft]"})


@pytest.mark.parametrize(
    "case", [c for c in QUERIES if c.expect == NOT_FOUND and c.id not in NOT_FOUND_FOR_ALL], ids=lambda c: c.id
)
def test_the_ids_are_tenant_bs_real_objects(stack: Stack, case: QueryCase) -> None:
    """A guard on the guard: what answers NOT_FOUND to A answers B's data to B (the ids are real)."""
    body = call(stack, case, "gateway", B_ADMIN)
    assert root_value(body, case.field) is not None, f"{case.id}: B cannot read its own object: {body}"
    assert case.id == "tenant[B's tenant]" or leaked(body), f"{case.id}: B's own answer carries none of B's strings"


FOREIGN_HEADER_QUERIES = {
    "gateway": "{ products { totalCount } }",
    "identity": "{ users { totalCount } }",
    "catalog": "{ products { totalCount } }",
    "templates": "{ templates(enabledOnly: true) { totalCount } }",
    "passport": "{ passports { totalCount } }",
}


@pytest.mark.parametrize("target", FOREIGN_HEADER_QUERIES)
def test_a_token_of_a_cannot_pick_tenant_b_with_the_header(stack: Stack, target: str) -> None:
    """X-Tenant-ID: B with A's Admin token is FORBIDDEN (403) at the gateway and at every subgraph, with no data."""
    response = stack.post(target, FOREIGN_HEADER_QUERIES[target], stack.token(A_ADMIN), {"x-tenant-id": B.id})
    body = response.json()
    assert response.status_code == 403, body
    assert codes(body) == ["FORBIDDEN"] and not body.get("data"), body
