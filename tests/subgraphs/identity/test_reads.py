"""Read-only behaviour on the seeded demo data: me, tenant(s), users, entities, visibility."""

from __future__ import annotations

from subgraphs.common.ids import stable_id
from tests.subgraphs.identity.conftest import Identity, data, error, tenant_id, user_id
from tests.support.subgraphs import prepare_database

ACME, GREENLOOP, NORDIC = tenant_id("acme"), tenant_id("greenloop"), tenant_id("nordic")


def test_service_sdl_declares_the_entities(shared_identity: Identity) -> None:
    sdl = data(shared_identity.query("{ _service { sdl } }"))["_service"]["sdl"]
    assert 'type Tenant @key(fields: "id")' in sdl
    assert 'type User @key(fields: "id")' in sdl
    assert "MANUFACTURER" in sdl and "DEACTIVATED" in sdl and "ENTERPRISE" in sdl


def test_me_lists_own_memberships_in_every_tenant(shared_identity: Identity) -> None:
    body = shared_identity.query(
        "{ me { id email name username status platformAdmin"
        " memberships { active roles { name } tenant { name status tenantClass } } } }",
        as_user="consultant",
        tenant="greenloop",
    )
    assert data(body)["me"] == {
        "id": user_id("consultant"),
        "email": "consultant@dpp.example",
        "name": "Cora Consultant",
        "username": "consultant",
        "status": "ACTIVE",
        "platformAdmin": False,
        "memberships": [
            {
                "active": False,
                "roles": [{"name": "Viewer"}],
                "tenant": {"name": "Acme Batteries GmbH", "status": "ACTIVATED", "tenantClass": "ENTERPRISE"},
            },
            {
                "active": True,
                "roles": [{"name": "Manager"}],
                "tenant": {"name": "GreenLoop Textiles BV", "status": "ACTIVATED", "tenantClass": "PROFESSIONAL"},
            },
        ],
    }


def test_me_needs_a_signed_in_caller(shared_identity: Identity) -> None:
    assert error(shared_identity.query("{ me { id } }")) == ("UNAUTHENTICATED", "Sign in to do this")


def test_a_bad_token_is_refused_not_downgraded(shared_identity: Identity) -> None:
    body = shared_identity.query("{ me { id } }", token="not-a-jwt")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_tenant_of_ones_own(shared_identity: Identity) -> None:
    body = shared_identity.query(
        "query($id: ID!) { tenant(id: $id) { id name domain type status tenantClass parent { id } roles { name } } }",
        {"id": ACME},
        as_user="acme-viewer",
    )
    assert data(body)["tenant"] == {
        "id": ACME,
        "name": "Acme Batteries GmbH",
        "domain": "acme.example",
        "type": "MANUFACTURER",
        "status": "ACTIVATED",
        "tenantClass": "ENTERPRISE",
        "parent": None,
        "roles": [{"name": "Admin"}, {"name": "Manager"}, {"name": "Viewer"}],
    }


def test_tenant_one_does_not_belong_to_is_not_found(shared_identity: Identity) -> None:
    query = "query($id: ID!) { tenant(id: $id) { name } }"
    assert error(shared_identity.query(query, {"id": GREENLOOP}, as_user="acme-admin")) == (
        "NOT_FOUND",
        f"tenant '{GREENLOOP}' not found",
    )
    # The same answer for a tenant that does not exist at all, and for anonymous callers.
    assert error(shared_identity.query(query, {"id": "01NOSUCHTENANT0000000000000"}, as_user="acme-admin")) == (
        "NOT_FOUND",
        "tenant '01NOSUCHTENANT0000000000000' not found",
    )
    # Anonymous callers are stopped by @authenticated before the resolver runs.
    assert error(shared_identity.query(query, {"id": ACME}))[0] == "UNAUTHENTICATED"


def test_tenant_of_another_membership_while_acting_elsewhere(shared_identity: Identity) -> None:
    body = shared_identity.query(
        "query($id: ID!) { tenant(id: $id) { name status roles { name } } }",
        {"id": GREENLOOP},
        as_user="consultant",
        tenant="acme",
    )
    # A member sees the tenant's details; its roles are listed only while acting in it.
    assert data(body)["tenant"] == {"name": "GreenLoop Textiles BV", "status": "ACTIVATED", "roles": []}


def test_platform_admin_sees_any_tenant(shared_identity: Identity) -> None:
    body = shared_identity.query("query($id: ID!) { tenant(id: $id) { name status } }", {"id": NORDIC}, as_user="root")
    assert data(body)["tenant"] == {"name": "Nordic Retail AB", "status": "INVITED"}


def test_tenants_lists_all_for_platform_admins(shared_identity: Identity) -> None:
    query = "query($status: TenantStatus) { tenants(status: $status) { totalCount nodes { name type status } } }"
    assert data(shared_identity.query(query, as_user="root"))["tenants"] == {
        "totalCount": 3,
        "nodes": [
            {"name": "Acme Batteries GmbH", "type": "MANUFACTURER", "status": "ACTIVATED"},
            {"name": "GreenLoop Textiles BV", "type": "SUPPLIER", "status": "ACTIVATED"},
            {"name": "Nordic Retail AB", "type": "RETAILER", "status": "INVITED"},
        ],
    }
    invited = data(shared_identity.query(query, {"status": "INVITED"}, as_user="root"))["tenants"]
    assert invited == {
        "totalCount": 1,
        "nodes": [{"name": "Nordic Retail AB", "type": "RETAILER", "status": "INVITED"}],
    }


def test_tenants_is_forbidden_to_others(shared_identity: Identity) -> None:
    assert error(shared_identity.query("{ tenants { totalCount } }", as_user="acme-admin")) == (
        "FORBIDDEN",
        "Only platform administrators may do this",
    )
    assert error(shared_identity.query("{ tenants { totalCount } }"))[0] == "UNAUTHENTICATED"


def test_users_lists_the_active_tenants_members_only(shared_identity: Identity) -> None:
    query = "{ users { totalCount nodes { email status roles { name } } } }"
    assert data(shared_identity.query(query, as_user="acme-manager"))["users"] == {
        "totalCount": 5,
        "nodes": [
            {"email": "admin@acme.example", "status": "ACTIVE", "roles": [{"name": "Admin"}]},
            {"email": "consultant@dpp.example", "status": "ACTIVE", "roles": [{"name": "Viewer"}]},
            {"email": "manager@acme.example", "status": "ACTIVE", "roles": [{"name": "Manager"}]},
            {"email": "root@dpp.local", "status": "ACTIVE", "roles": [{"name": "Admin"}]},
            {"email": "viewer@acme.example", "status": "ACTIVE", "roles": [{"name": "Viewer"}]},
        ],
    }
    # The same consultant, seen from GreenLoop, holds GreenLoop's role only.
    assert data(shared_identity.query(query, as_user="greenloop-admin"))["users"] == {
        "totalCount": 2,
        "nodes": [
            {"email": "consultant@dpp.example", "status": "ACTIVE", "roles": [{"name": "Manager"}]},
            {"email": "admin@greenloop.example", "status": "ACTIVE", "roles": [{"name": "Admin"}]},
        ],
    }


def test_another_members_memberships_show_only_the_active_tenant(shared_identity: Identity) -> None:
    body = shared_identity.query(
        "{ users { nodes { email memberships { active tenant { name } roles { name } } } } }",
        as_user="greenloop-admin",
    )
    consultant = data(body)["users"]["nodes"][0]
    assert consultant == {
        "email": "consultant@dpp.example",
        "memberships": [{"active": True, "tenant": {"name": "GreenLoop Textiles BV"}, "roles": [{"name": "Manager"}]}],
    }


def test_users_pages_with_cursors(shared_identity: Identity) -> None:
    query = """query($after: String) {
      users(first: 2, after: $after) { pageInfo { hasNextPage endCursor } nodes { username } }
    }"""
    first = data(shared_identity.query(query, as_user="acme-admin"))["users"]
    assert [n["username"] for n in first["nodes"]] == ["acme-admin", "consultant"]
    assert first["pageInfo"]["hasNextPage"] is True
    second = data(shared_identity.query(query, {"after": first["pageInfo"]["endCursor"]}, as_user="acme-admin"))
    assert [n["username"] for n in second["users"]["nodes"]] == ["acme-manager", "root"]


def test_users_needs_the_manager_role(shared_identity: Identity) -> None:
    assert error(shared_identity.query("{ users { totalCount } }", as_user="acme-viewer")) == (
        "FORBIDDEN",
        "This needs the Manager role in the active tenant",
    )


ENTITIES = """query($r: [_Any!]!) { _entities(representations: $r) {
  ... on Tenant { id name domain type status tenantClass }
  ... on User { id email name }
} }"""


def test_tenant_entities_show_the_public_face_to_anyone(shared_identity: Identity) -> None:
    reps = [{"__typename": "Tenant", "id": ACME}, {"__typename": "Tenant", "id": "01NOSUCHTENANT0000000000000"}]
    public = {"id": ACME, "name": "Acme Batteries GmbH", "domain": "acme.example", "type": "MANUFACTURER"}
    anonymous = data(shared_identity.query(ENTITIES, {"r": reps}))["_entities"]
    assert anonymous == [{**public, "status": None, "tenantClass": None}, None]
    other_tenant = data(shared_identity.query(ENTITIES, {"r": reps}, as_user="greenloop-admin"))["_entities"]
    assert other_tenant == [{**public, "status": None, "tenantClass": None}, None]
    member = data(shared_identity.query(ENTITIES, {"r": reps}, as_user="acme-viewer"))["_entities"]
    assert member == [{**public, "status": "ACTIVATED", "tenantClass": "ENTERPRISE"}, None]


def test_user_entities_are_visible_within_the_tenant_only(shared_identity: Identity) -> None:
    reps = [
        {"__typename": "User", "id": user_id("acme-viewer")},
        {"__typename": "User", "id": user_id("greenloop-admin")},
    ]
    vera = {"id": user_id("acme-viewer"), "email": "viewer@acme.example", "name": "Vera Viewer"}
    gus = {"id": user_id("greenloop-admin"), "email": "admin@greenloop.example", "name": "Gus Admin"}
    assert data(shared_identity.query(ENTITIES, {"r": reps}, as_user="acme-manager"))["_entities"] == [vera, None]
    assert data(shared_identity.query(ENTITIES, {"r": reps}, as_user="greenloop-admin"))["_entities"] == [None, gus]
    assert data(shared_identity.query(ENTITIES, {"r": reps}))["_entities"] == [None, None]
    assert data(shared_identity.query(ENTITIES, {"r": reps}, as_user="root"))["_entities"] == [vera, gus]


def test_seeded_ids_follow_the_shared_demo_description(shared_identity: Identity) -> None:
    rows = shared_identity.sql(f"SELECT id FROM identity_roles WHERE tenant_id = '{ACME}' ORDER BY name")
    assert [r[0] for r in rows] == [stable_id("role", "acme", name) for name in ("Admin", "Manager", "Viewer")]
    hashes = shared_identity.sql("SELECT password_hash FROM identity_users WHERE username = 'root'")
    assert hashes[0][0].startswith("$argon2id$") and "Platform-Admin-2026" not in hashes[0][0]


def test_seeding_twice_adds_nothing(database_url_factory) -> None:
    url = database_url_factory("identity_seed")
    prepare_database("identity", url)
    identity = Identity("http://unused", url)
    tables = ("tenants", "users", "memberships", "roles", "role_grants")
    first = {t: identity.sql(f"SELECT count(*) FROM identity_{t}")[0][0] for t in tables}
    prepare_database("identity", url)
    assert {t: identity.sql(f"SELECT count(*) FROM identity_{t}")[0][0] for t in tables} == first
    assert first == {"tenants": 3, "users": 6, "memberships": 7, "roles": 9, "role_grants": 7}
