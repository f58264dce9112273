"""Rights follow identity's current state through the gateway, within the caller-context TTL.

A manager demoted to viewer while signed in stops writing; a deactivated tenant's admin is
refused at the edge; both with the tokens they already hold. The gateway and catalog cache a
caller's context for 1 s here, so the rights go within about that (the deadline only stops a
broken test from hanging; the measured delay is printed). With Redis, identity's announcement
empties the gateways' caches at once: a gateway caching contexts for an hour still sees a
demotion immediately.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from subgraphs.common import demo
from subgraphs.common.ids import stable_id
from tests.support.redis import RedisServer

from .auth_stack import AuthStack, Served, auth_stack, serving_gateway

CONTEXT_TTL = 1.0
DEADLINE = 3 * CONTEXT_TTL + 5.0
CREATE_PRODUCT = """mutation($input: ProductInput!) { createProduct(input: $input) { id name } }"""
ASSIGN_ROLES = """mutation($user: ID!, $roles: [String!]!) { assignRoles(userId: $user, roles: $roles) { id } }"""
SET_STATUS = """mutation($id: ID!, $status: TenantStatus!) { setTenantStatus(id: $id, status: $status) { id } }"""
ME = "{ me { email } }"


@pytest.fixture(scope="module")
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.fresh_url()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[AuthStack]:
    with auth_stack(tmp_path_factory.mktemp("revocation"), context_ttl=CONTEXT_TTL, redis_url=redis_url) as running:
        yield running


@pytest.fixture(scope="module")
def gateway(stack: AuthStack) -> Iterator[Served]:
    with serving_gateway(stack.settings(auth_context_ttl=CONTEXT_TTL)) as gw:
        yield gw


def user_id(key: str) -> str:
    return next(u for u in demo.USERS if u.key == key).id


def ok(response: Any) -> dict[str, Any]:
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return body["data"]


def within_deadline(refused: Callable[[], bool]) -> float:
    """Seconds until ``refused()`` holds (fails the test past :data:`DEADLINE`)."""
    start = time.monotonic()
    while not refused():
        if time.monotonic() - start > DEADLINE:
            pytest.fail(f"rights were still there after {DEADLINE} s")
        time.sleep(0.1)
    return time.monotonic() - start


def new_product(token: str, gateway: Served) -> Any:
    product = {
        "name": f"Cell {uuid.uuid4().hex[:8]}",
        "sku": uuid.uuid4().hex[:10],
        "categoryId": stable_id("category", "batteries"),
    }
    return gateway.post(CREATE_PRODUCT, {"input": product}, token=token)


def test_a_demoted_manager_stops_writing_within_the_context_ttl(stack: AuthStack, gateway: Served) -> None:
    manager = stack.identity.login("acme-manager", "acme")["accessToken"]
    admin = stack.identity.login("acme-admin", "acme")["accessToken"]
    ok(new_product(manager, gateway))
    ok(gateway.post(ASSIGN_ROLES, {"user": user_id("acme-manager"), "roles": ["Viewer"]}, token=admin))
    try:
        codes: set[str] = set()

        def refused() -> bool:
            body = new_product(manager, gateway).json()
            codes.clear()
            codes.update(e.get("extensions", {}).get("code") for e in body.get("errors", []))
            # the gateway removes the field (@requiresScopes) or catalog refuses it: either way no product
            written = (body.get("data") or {}).get("createProduct")
            return bool(codes & {"UNAUTHORIZED_FIELD_OR_TYPE", "FORBIDDEN"}) and not written

        elapsed = within_deadline(refused)
        print(f"demoted manager refused ({sorted(codes)}) {elapsed:.2f} s after the demotion (TTL {CONTEXT_TTL} s)")
        assert gateway.post(ME, token=manager).status_code == 200  # still signed in, as a viewer
    finally:
        ok(gateway.post(ASSIGN_ROLES, {"user": user_id("acme-manager"), "roles": ["Manager"]}, token=admin))
    within_deadline(lambda: "errors" not in new_product(manager, gateway).json())  # promoted again


def test_a_deactivated_tenant_is_refused_at_the_edge_within_the_context_ttl(stack: AuthStack, gateway: Served) -> None:
    greenloop = demo.tenant("greenloop").id
    member = stack.identity.login("greenloop-admin")["accessToken"]
    root = stack.identity.login("root")["accessToken"]
    assert ok(gateway.post(ME, token=member))["me"]["email"] == "admin@greenloop.example"
    ok(gateway.post(SET_STATUS, {"id": greenloop, "status": "DEACTIVATED"}, token=root))
    try:
        elapsed = within_deadline(lambda: gateway.post(ME, token=member).status_code in (401, 403))
        print(f"deactivated tenant refused {elapsed:.2f} s after the deactivation (context TTL {CONTEXT_TTL} s)")
        refused = gateway.post(ME, token=member)
        code = refused.json()["errors"][0]["extensions"]["code"]
        assert (refused.status_code, code) in ((401, "UNAUTHENTICATED"), (403, "FORBIDDEN"))
        assert "data" not in refused.json()  # refused before any subgraph was asked
    finally:
        ok(gateway.post(SET_STATUS, {"id": greenloop, "status": "ACTIVATED"}, token=root))
    within_deadline(lambda: gateway.post(ME, token=member).status_code == 200)


def test_with_redis_a_gateway_caching_for_an_hour_sees_a_demotion_at_once(stack: AuthStack, redis_url: str) -> None:
    settings = stack.settings(auth_context_ttl=3600.0, redis_url=redis_url)
    viewer_query = "{ users(first: 1) { edges { node { id } } } }"  # Managers and Admins
    with serving_gateway(settings) as gw:
        manager = stack.identity.login("acme-manager", "acme")["accessToken"]
        admin = stack.identity.login("acme-admin", "acme")["accessToken"]
        ok(gw.post(viewer_query, token=manager))  # cached for an hour from here on
        ok(gw.post(ASSIGN_ROLES, {"user": user_id("acme-manager"), "roles": ["Viewer"]}, token=admin))
        try:
            elapsed = within_deadline(lambda: "errors" in gw.post(viewer_query, token=manager).json())
            print(f"demotion seen {elapsed:.2f} s after it, through a context cache of 3600 s (Redis)")
            assert elapsed < 3600
        finally:
            ok(gw.post(ASSIGN_ROLES, {"user": user_id("acme-manager"), "roles": ["Manager"]}, token=admin))
