"""The passport subgraph's declared authorization, enforced by the subgraph itself (no gateway):
@authenticated reads, passport:write on changes, the passport:publish / passport:revoke policies,
values readable per access level (RESTRICTED: scope, CONFIDENTIAL: policy), the public view unchanged,
and ``_entities`` that answers no passport to anonymous callers and none of another tenant's."""

from __future__ import annotations

from typing import Any

import pytest

from subgraphs.common import demo
from tests.subgraphs.passport.conftest import PassportServer
from tests.support.client import gql

BY_NAME = {p.name: p for p in demo.PASSPORTS}
PACK_01, PACK_02, PACK_03 = (BY_NAME[f"ACME_CELL_PACK_0{i}"] for i in (1, 2, 3))
TEE_01 = BY_NAME["GRL_ORGANIC_TEE_01"]
ACCESS = {f.key: f.access for f in demo.template("product-dpp").fields}


def keys_at(level: str, values: tuple[tuple[str, object], ...]) -> list[str]:
    return sorted(k for k, _ in values if ACCESS[k] == level)


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


def paths(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(".".join(str(p) for p in e["path"]), e["extensions"]["code"]) for e in body.get("errors") or []]


VALUES = """query($id: ID!) { passport(id: $id) {
  values { key } restrictedValues { key } confidentialValues { key }
} }"""
FIELDS = """query($id: ID!) { passport(id: $id) { fields { key access value restrictedValue confidentialValue } } }"""
VERSIONS = """query($id: ID!) { passport(id: $id) {
  versions { number values { key } restrictedValues { key } confidentialValues { key } content }
} }"""
PUBLISH = "mutation($id: ID!) { publishPassport(id: $id) { status publishedVersion } }"
REVOKE = 'mutation($id: ID!) { revokePassport(id: $id, reason: "recall") { status } }'
AUDIT = """query($id: ID!) { passport(id: $id) { auditEntries { action result user { id } } } }"""


def test_tenant_reads_need_a_signed_in_caller_and_the_public_view_stays_open(passport: PassportServer) -> None:
    for query, variables in (("{ passports { totalCount } }", None), (VALUES, {"id": PACK_01.id})):
        body = passport.query(query, variables)
        assert codes(body) == ["UNAUTHENTICATED"], body
    public = passport.data(
        "query($u: String!) { publicPassport(uuid: $u) { name fields { key value } } }", {"u": PACK_01.public_uuid}
    )["publicPassport"]
    assert public["name"] == "ACME_CELL_PACK_01"
    assert sorted(f["key"] for f in public["fields"]) == keys_at("PUBLIC", PACK_01.values)


@pytest.mark.parametrize(
    ("user", "restricted", "confidential"),
    [
        ("acme-viewer", False, False),  # no scope, no policy: PUBLIC values only
        ("acme-manager", True, False),  # passport:write reads RESTRICTED; confidential needs the policy
        ("acme-admin", True, True),  # Admins hold every policy of their tenant
        ("root", True, True),  # a platform administrator who is Admin of Acme
    ],
)
def test_values_are_readable_per_access_level(
    passport: PassportServer, user: str, restricted: bool, confidential: bool
) -> None:
    body = passport.query(VALUES, {"id": PACK_01.id}, as_user=user)
    data = body["data"]["passport"]
    assert [v["key"] for v in data["values"]] == keys_at("PUBLIC", PACK_01.values)
    expected_errors = []
    if restricted:
        assert [v["key"] for v in data["restrictedValues"]] == keys_at("RESTRICTED", PACK_01.values)
    else:
        assert data["restrictedValues"] is None
        expected_errors.append(("passport.restrictedValues", "FORBIDDEN"))
    if confidential:
        assert [v["key"] for v in data["confidentialValues"]] == ["unit_cost"]
    else:
        assert data["confidentialValues"] is None
        expected_errors.append(("passport.confidentialValues", "FORBIDDEN"))
    assert paths(body) == expected_errors


def test_each_field_shows_its_value_only_in_the_member_of_its_level(passport: PassportServer) -> None:
    fields = passport.data(FIELDS, {"id": PACK_01.id}, as_user="acme-admin")["passport"]["fields"]
    values = dict(PACK_01.values)
    for field in fields:
        level = field["access"]
        assert field["value"] == (values[field["key"]] if level == "PUBLIC" else None)
        assert field["restrictedValue"] == (values[field["key"]] if level == "RESTRICTED" else None)
        assert field["confidentialValue"] == (values[field["key"]] if level == "CONFIDENTIAL" else None)

    viewer = passport.query(FIELDS, {"id": PACK_01.id}, as_user="acme-viewer")
    assert {f["restrictedValue"] for f in viewer["data"]["passport"]["fields"]} == {None}
    assert set(paths(viewer)) == {
        *((f"passport.fields.{i}.restrictedValue", "FORBIDDEN") for i in range(len(fields))),
        *((f"passport.fields.{i}.confidentialValue", "FORBIDDEN") for i in range(len(fields))),
    }


def test_a_versions_full_content_needs_both_levels(passport: PassportServer) -> None:
    manager = passport.query(VERSIONS, {"id": PACK_02.id}, as_user="acme-manager")
    version = manager["data"]["passport"]["versions"][0]
    assert version["content"] is None and version["confidentialValues"] is None
    assert [v["key"] for v in version["restrictedValues"]] == keys_at("RESTRICTED", PACK_02.values)
    assert sorted(paths(manager)) == [
        ("passport.versions.0.confidentialValues", "FORBIDDEN"),
        ("passport.versions.0.content", "FORBIDDEN"),
    ]
    admin = passport.data(VERSIONS, {"id": PACK_02.id}, as_user="acme-admin")["passport"]["versions"][0]
    assert '"unit_cost"' in admin["content"]
    assert [v["key"] for v in admin["confidentialValues"]] == ["unit_cost"]


def test_publishing_and_revoking_need_their_policies_and_denials_are_audited(passport: PassportServer) -> None:
    version = passport.data(
        "query($id: ID!) { passport(id: $id) { version } }", {"id": PACK_03.id}, as_user="acme-viewer"
    )
    with_date = passport.query(
        "mutation($id: ID!, $v: Int!) { setPassportValues(id: $id, expectedVersion: $v, "
        'values: [{key: "manufacture_date", value: "2026-05-01"}]) { version } }',
        {"id": PACK_03.id, "v": version["passport"]["version"]},
        as_user="acme-manager",
    )
    assert "errors" not in with_date, with_date
    manager = passport.query(PUBLISH, {"id": PACK_03.id}, as_user="acme-manager")
    assert codes(manager) == ["FORBIDDEN"]
    assert manager["errors"][0]["message"] == "This needs the passport:publish permission in the active tenant"
    assert codes(passport.query(PUBLISH, {"id": PACK_03.id}, as_user="acme-viewer")) == ["FORBIDDEN"]
    assert codes(passport.query(PUBLISH, {"id": PACK_03.id})) == ["UNAUTHENTICATED"]
    published = passport.data(PUBLISH, {"id": PACK_03.id}, as_user="acme-admin")["publishPassport"]
    assert published == {"status": "PUBLISHED", "publishedVersion": 1}

    revoke = passport.query(REVOKE, {"id": PACK_03.id}, as_user="acme-manager")
    assert revoke["errors"][0]["message"] == "This needs the passport:revoke permission in the active tenant"
    assert passport.data(REVOKE, {"id": PACK_03.id}, as_user="acme-admin") == {"revokePassport": {"status": "REVOKED"}}

    users = {u.id: u.key for u in demo.USERS}
    entries = passport.data(AUDIT, {"id": PACK_03.id}, as_user="acme-admin")["passport"]["auditEntries"]
    assert [(e["action"], e["result"], users[e["user"]["id"]]) for e in entries] == [
        ("revokePassport", "OK", "acme-admin"),
        ("revokePassport", "FORBIDDEN", "acme-manager"),
        ("publishPassport", "OK", "acme-admin"),
        ("publishPassport", "FORBIDDEN", "acme-viewer"),
        ("publishPassport", "FORBIDDEN", "acme-manager"),
        ("setPassportValues", "OK", "acme-manager"),
    ]  # the anonymous attempt is audited too, without a tenant, so not in the tenant's trail


def test_anonymous_entities_resolve_no_passport_and_other_tenants_resolve_none(passport: PassportServer) -> None:
    query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Passport { id name } } }"
    reps = [
        {"__typename": "Passport", "id": PACK_01.id},  # published: public only through publicPassport
        {"__typename": "Passport", "uuid": PACK_01.public_uuid},
        {"__typename": "Passport", "id": TEE_01.id},
    ]
    anonymous = passport.query(query, {"r": reps})
    assert anonymous == {"data": {"_entities": [None, None, None]}}
    acme = passport.data(query, {"r": reps}, as_user="acme-viewer")["_entities"]
    assert acme == [{"id": PACK_01.id, "name": PACK_01.name}, {"id": PACK_01.id, "name": PACK_01.name}, None]
    green = passport.data(query, {"r": reps}, as_user="greenloop-admin")["_entities"]
    assert green == [None, None, {"id": TEE_01.id, "name": TEE_01.name}]


def test_passport_counts_on_products_need_a_signed_in_caller(passport: PassportServer) -> None:
    query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id passportCount } } }"
    reps = [{"__typename": "Product", "id": PACK_01.product_id}]
    anonymous = passport.query(query, {"r": reps})
    # passportCount is nullable (a field added to the catalog's entity): the entity stays, the count is null.
    assert anonymous["data"] == {"_entities": [{"id": PACK_01.product_id, "passportCount": None}]}
    assert paths(anonymous) == [("_entities.0.passportCount", "UNAUTHENTICATED")]
    assert passport.data(query, {"r": reps}, as_user="acme-viewer") == {
        "_entities": [{"id": PACK_01.product_id, "passportCount": 1}]
    }


GRANT = "mutation($r: String!, $p: String!) { grantPolicy(role: $r, policy: $p) { role policy } }"
WITHDRAW = "mutation($r: String!, $p: String!) { revokePolicy(role: $r, policy: $p) { role policy } }"


def test_a_manager_granted_passport_publish_may_publish(passport: PassportServer) -> None:
    """The policy is data in identity: an Admin's grant lets Managers publish, without any change here."""
    issuer = passport.issuer
    admin = issuer.token_for("acme-admin")
    grant = {"r": "Manager", "p": "passport:publish"}
    # (the Manager's denial is tested above; asking here first would cache the context for AUTH_CONTEXT_TTL)
    assert "errors" not in gql(issuer.url, GRANT, grant, token=admin)
    try:
        # PACK_02 is PUBLISHED: the domain now answers (CONFLICT), so the directive let the Manager through
        allowed = passport.query(PUBLISH, {"id": PACK_02.id}, as_user="acme-manager")
        assert codes(allowed) == ["CONFLICT"], allowed
    finally:
        assert "errors" not in gql(issuer.url, WITHDRAW, grant, token=admin)
