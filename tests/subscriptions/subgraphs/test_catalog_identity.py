"""Catalog, templates and identity subscriptions over graphql-transport-ws, straight to each subgraph (SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from subgraphs.common import demo
from subgraphs.common.ids import stable_id
from tests.subscriptions.subgraphs.conftest import data
from tests.subscriptions.subgraphs.wsclient import connected
from tests.support.identity import IdentityIssuer, serving_identity
from tests.support.subgraphs import running_subgraph

PRODUCT = stable_id("product", "acme", "4")
OTHER_PRODUCT = stable_id("product", "acme", "5")
CHANGED = "subscription($id: ID!) { productChanged(id: $id) { id name version isEnabled } }"
EVENTS = "subscription($f: ProductEventFilter) { productEvents(filter: $f) { id name isEnabled } }"
VERSION = "query($id: ID!) { product(id: $id) { version } }"
UPDATE = """mutation($id: ID!, $v: Int!, $input: ProductUpdateInput!) {
  updateProduct(id: $id, expectedVersion: $v, input: $input) { version } }"""
DELETE = "mutation($id: ID!, $v: Int!) { deleteProduct(id: $id, expectedVersion: $v) }"
MEMBERSHIP = "subscription { membershipChanged { id memberships { active roles { name } } } }"
ASSIGN = "mutation($id: ID!, $roles: [String!]!) { assignRoles(userId: $id, roles: $roles) { id } }"
REMOVE = "mutation($id: ID!) { removeMember(userId: $id) }"
IMPORT = "mutation($items: [ProductInput!]!) { importProducts(items: $items) { id } }"
PUBLISHED = "subscription($c: ID) { templatePublished(categoryId: $c) { id version status } }"
REVISE = "mutation($id: ID!) { reviseTemplate(id: $id) { id } }"
PUBLISH = "mutation($id: ID!) { publishTemplate(id: $id) { id version } }"
QUEUE = 2  # the catalog server's SUBSCRIPTION_QUEUE_SIZE


@pytest.fixture(scope="module")
def catalog_server(module_issuer: IdentityIssuer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{(tmp_path_factory.mktemp('catalog') / 'catalog.db').as_posix()}"
    with running_subgraph(
        "catalog", url, subscription_auth_recheck=0.3, subscription_queue_size=QUEUE, **module_issuer.overrides()
    ) as server:
        yield server.url


@pytest.fixture(scope="module")
def templates_server(module_issuer: IdentityIssuer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{(tmp_path_factory.mktemp('templates') / 'templates.db').as_posix()}"
    with running_subgraph("templates", url, **module_issuer.overrides()) as server:
        yield server.url


@pytest.fixture(scope="module")
def own_identity(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentityIssuer]:
    """An identity server of this module alone (its memberships change here), acting as its own issuer."""
    root: Path = tmp_path_factory.mktemp("own-identity")
    with serving_identity(f"sqlite+aiosqlite:///{(root / 'identity.db').as_posix()}", root) as identity:
        yield identity


def update(base: str, product: str, token: str, **changes: object) -> dict:
    version = data(base, VERSION, {"id": product}, token=token)["product"]["version"]
    return data(base, UPDATE, {"id": product, "v": version, "input": changes}, token=token)


def test_product_changes_reach_their_subscribers_and_a_deletion_ends_product_changed(
    catalog_server: str, module_issuer: IdentityIssuer
) -> None:
    manager = module_issuer.token_for("acme-manager")
    viewer = module_issuer.token_for("acme-viewer")
    outsider = module_issuer.token_for("greenloop-admin")
    with (
        connected(catalog_server, token=viewer) as ws,
        connected(catalog_server, token=outsider) as foreign,
    ):
        changed = ws.subscribe(CHANGED, {"id": PRODUCT})
        disabled = ws.subscribe(EVENTS, {"f": {"isEnabled": False}})
        foreign.subscribe(EVENTS)
        update(catalog_server, PRODUCT, manager, name="Renamed Pack")
        message = ws.receive()
        assert message["id"] == changed, message
        assert message["payload"]["data"]["productChanged"]["name"] == "Renamed Pack"
        assert message["payload"]["extensions"]["event"]["kind"] == "updated"
        assert ws.nothing_for(0.3), "the filter wants disabled products only"
        update(catalog_server, OTHER_PRODUCT, manager, isEnabled=False)
        message = ws.receive()
        assert message["id"] == disabled and message["payload"]["data"]["productEvents"]["id"] == OTHER_PRODUCT
        assert foreign.nothing_for(0.3), "another tenant's subscriber receives nothing"
        version = data(catalog_server, VERSION, {"id": PRODUCT}, token=manager)["product"]["version"]
        data(catalog_server, DELETE, {"id": PRODUCT, "v": version}, token=manager)
        final = ws.receive()
        assert (final["id"], final["type"]) == (changed, "next"), final
        assert final["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert ws.receive() == {"id": changed, "type": "complete"}


def test_membership_changes_reach_the_member_and_removal_ends_with_forbidden(own_identity: IdentityIssuer) -> None:
    base = own_identity.base_url
    admin = own_identity.token_for("acme-admin")
    viewer_id = next(u for u in demo.USERS if u.key == "acme-viewer").id
    viewer = own_identity.login("acme-viewer")["accessToken"]
    with connected(base, token=viewer) as ws:
        op = ws.subscribe(MEMBERSHIP)
        assert ws.nothing_for(0.3)
        data(base, ASSIGN, {"id": viewer_id, "roles": ["Viewer", "Manager"]}, token=admin)
        message = ws.receive()
        assert message["id"] == op, message
        me = message["payload"]["data"]["membershipChanged"]
        assert me["id"] == viewer_id
        assert {r["name"] for r in me["memberships"][0]["roles"]} == {"Viewer", "Manager"}
        assert message["payload"]["extensions"]["event"]["kind"] == "rolesChanged"
        data(base, REMOVE, {"id": viewer_id}, token=admin)
        final = ws.receive()
        assert final["type"] == "next" and final["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN", final
        assert ws.receive() == {"id": op, "type": "complete"}


def test_a_subscriber_that_falls_behind_loses_its_oldest_events_and_is_told(
    catalog_server: str, module_issuer: IdentityIssuer
) -> None:
    manager = module_issuer.token_for("acme-manager")
    batteries = demo.template("product-dpp").category_id
    items = [{"name": f"Burst {i}", "sku": f"BURST-{i}", "categoryId": batteries} for i in range(5)]
    with connected(catalog_server, token=manager) as ws:
        op = ws.subscribe(EVENTS)
        assert ws.nothing_for(0.2)
        created = [p["id"] for p in data(catalog_server, IMPORT, {"items": items}, token=manager)["importProducts"]]
        notice = ws.receive()
        assert notice["id"] == op and notice["payload"]["data"] is None, notice
        error = notice["payload"]["errors"][0]
        assert error["extensions"] == {"code": "SUBSCRIPTION_EVENTS_DROPPED", "dropped": len(items) - QUEUE}
        kept = [ws.receive()["payload"]["data"]["productEvents"]["id"] for _ in range(QUEUE)]
        assert kept == created[-QUEUE:], "the newest events are kept, in order"
        assert ws.nothing_for(0.2)


def test_template_publications_reach_every_signed_in_tenant(
    templates_server: str, module_issuer: IdentityIssuer
) -> None:
    root = module_issuer.token_for("root")
    template = demo.template("supply-chain-dpp")
    with (
        connected(templates_server, token=module_issuer.token_for("greenloop-admin")) as greenloop,
        connected(templates_server, token=module_issuer.token_for("acme-viewer")) as acme,
        connected(templates_server) as anonymous,
    ):
        mine = greenloop.subscribe(PUBLISHED, {"c": template.category_id})
        acme.subscribe(PUBLISHED, {"c": demo.template("product-dpp").category_id})
        refused = anonymous.subscribe(PUBLISHED)
        message = anonymous.receive()
        assert (message["id"], message["type"]) == (refused, "error")
        assert message["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        draft = data(templates_server, REVISE, {"id": template.id}, token=root)["reviseTemplate"]["id"]
        assert greenloop.nothing_for(0.2), "a draft is not a publication"
        published = data(templates_server, PUBLISH, {"id": draft}, token=root)["publishTemplate"]
        message = greenloop.receive()
        assert message["id"] == mine
        assert message["payload"]["data"]["templatePublished"] == {**published, "status": "PUBLISHED"}
        assert acme.nothing_for(0.2), "the acme subscriber asked for another category"
