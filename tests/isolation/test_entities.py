"""``_entities`` with tenant B's keys, on every subgraph that owns or extends the type, as tenant A's
Admin and anonymously: B's tenant-owned objects resolve to null, the rest shows public data and the
caller's own numbers only."""

from __future__ import annotations

from typing import Any

import pytest

from tests.isolation import schema_model
from tests.isolation.checks import assert_no_leak
from tests.isolation.entity_table import HIDDEN, REPRESENTATIONS, RULES
from tests.isolation.stack import Stack
from tests.isolation.tenants import ATTACKERS, B_ADMIN, A

CALLERS: dict[str, tuple[str | None, str | None, str | None, frozenset[str]]] = {
    **{name: (user, tenant_key, A.id, member_of) for name, (user, tenant_key, member_of) in ATTACKERS.items()},
    "anonymous": (None, None, None, frozenset()),
}


def cases() -> list[Any]:
    found = []
    for name in schema_model.SUBGRAPHS:
        schema = schema_model.subgraph(name)
        for type_name, keys in schema.keys.items():
            for key in keys:
                for label, representation in REPRESENTATIONS.get((type_name, key), ()):
                    found.append(pytest.param(name, type_name, representation, id=f"{name}-{type_name}({key})-{label}"))
    return found


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("subgraph", "type_name", "representation"), cases())
def test_entities_of_tenant_b(stack: Stack, subgraph: str, type_name: str, representation: dict, caller: str) -> None:
    user, tenant_key, tenant_id, member_of = CALLERS[caller]
    schema = schema_model.subgraph(subgraph)
    query = (
        "query($r: [_Any!]!) { _entities(representations: $r) "
        f"{{ ... on {type_name} {schema_model.selection(schema, type_name)} }} }}"
    )
    token = stack.token(user, tenant_key) if user else None
    body = stack.gql(subgraph, query, {"r": [{"__typename": type_name, **representation}]}, token)
    assert_no_leak(stack, body, tenant_id, frozenset(str(v) for v in representation.values()), member_of)
    entities = (body.get("data") or {}).get("_entities")
    if RULES[(subgraph, type_name)] == HIDDEN:
        assert not entities or entities == [None], f"{subgraph} resolved B's {type_name} for {caller}: {entities}"
    elif user is not None:
        assert entities and entities[0] is not None, f"{subgraph} resolved no {type_name} for {caller}: {body}"


@pytest.mark.parametrize(
    ("subgraph", "type_name", "representation"),
    [p for p in cases() if RULES[(p.values[0], p.values[1])] == HIDDEN],
)
def test_hidden_entities_resolve_for_b(stack: Stack, subgraph: str, type_name: str, representation: dict) -> None:
    """A guard on the guard: the representations A gets null for are B's real objects (B resolves them)."""
    query = f"query($r: [_Any!]!) {{ _entities(representations: $r) {{ ... on {type_name} {{ __typename }} }} }}"
    body = stack.gql(subgraph, query, {"r": [{"__typename": type_name, **representation}]}, stack.token(B_ADMIN))
    assert body["data"]["_entities"] == [{"__typename": type_name}], body
