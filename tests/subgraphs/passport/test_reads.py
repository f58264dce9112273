"""Reading passports: seeded data, tenant isolation, the public view, hashes, federation entities."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from subgraphs.common import demo
from tests.subgraphs.passport.conftest import PassportServer, error_of, expected_hash
from tests.support.subgraphs import prepare_database

BY_NAME = {p.name: p for p in demo.PASSPORTS}
PACK_01, PACK_02, PACK_03, PACK_04, PACK_05, PACK_06 = (BY_NAME[f"ACME_CELL_PACK_0{i}"] for i in range(1, 7))
TEE_01 = BY_NAME["GRL_ORGANIC_TEE_01"]
PRODUCT_DPP = demo.template("product-dpp")
SUPPLY_DPP = demo.template("supply-chain-dpp")
PUBLIC_BATTERY_KEYS = [
    "manufacturer_name",
    "model_number",
    "chemistry",
    "capacity_kwh",
    "carbon_footprint",
    "recycled_content",
    "warranty_years",
    "hazardous",
]
UNKNOWN_ID = "01KDVDNA00AAAAAAAAAAAAAAAA"

DETAIL = """query($id: ID!) { passport(id: $id) {
  id uuid name status version templateVersion publishedVersion publishedAt contentHash previousHash
  revokedAt revocationReason archivedAt
  tenant { id } product { id } template { id }
  fields { fieldId key label type access unit required min max pattern enumValues position value }
  values { key value }
  missingRequiredFields
  versions { number contentHash previousHash publishedAt publishedBy { id } values { key value } }
  hashChainValid
} }"""

PUBLIC = """query($uuid: String!) { publicPassport(uuid: $uuid) {
  uuid name status version publishedAt contentHash previousHash revokedAt revocationReason archivedAt
  templateVersion product { name category } template { id } fields { key label type unit value }
} }"""


def test_members_list_their_tenants_passports_by_name(passport: PassportServer) -> None:
    query = "{ passports { totalCount nodes { name status version publishedVersion product { id } template { id } } } }"
    acme = passport.data(query, as_user="acme-viewer")["passports"]
    assert acme["totalCount"] == 6
    assert [(n["name"], n["status"], n["publishedVersion"]) for n in acme["nodes"]] == [
        ("ACME_CELL_PACK_01", "PUBLISHED", 2),
        ("ACME_CELL_PACK_02", "PUBLISHED", 1),
        ("ACME_CELL_PACK_03", "DRAFT", None),
        ("ACME_CELL_PACK_04", "REVOKED", 1),
        ("ACME_CELL_PACK_05", "ARCHIVED", 1),
        ("ACME_CELL_PACK_06", "DRAFT", None),
    ]
    assert acme["nodes"][0]["product"] == {"id": PACK_01.product_id}
    assert acme["nodes"][0]["template"] == {"id": PRODUCT_DPP.id}
    green = passport.data(query, as_user="greenloop-admin")["passports"]
    assert [n["name"] for n in green["nodes"]] == ["GRL_ORGANIC_TEE_01", "GRL_ORGANIC_TEE_02", "GRL_ORGANIC_TEE_03"]
    # A consultant sees the tenant it acts in, nothing of the other.
    consultant = passport.data(query, as_user="consultant", tenant="greenloop")["passports"]
    assert consultant["totalCount"] == 3


def test_filters_and_pagination(passport: PassportServer) -> None:
    query = """query($f: PassportFilter, $first: Int, $after: String) {
      passports(filter: $f, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { name } } }"""

    def names(flt: dict | None = None, first: int | None = None, after: str | None = None) -> tuple[list[str], dict]:
        page = passport.data(query, {"f": flt, "first": first, "after": after}, as_user="acme-manager")["passports"]
        return [n["name"] for n in page["nodes"]], page

    assert names({"status": "PUBLISHED"})[0] == ["ACME_CELL_PACK_01", "ACME_CELL_PACK_02"]
    assert names({"status": "DRAFT"})[0] == ["ACME_CELL_PACK_03", "ACME_CELL_PACK_06"]
    assert names({"nameContains": "pack_0"})[1]["totalCount"] == 6
    assert names({"nameContains": "_04"})[0] == ["ACME_CELL_PACK_04"]
    assert names({"productId": PACK_02.product_id})[0] == ["ACME_CELL_PACK_02"]
    assert names({"templateId": SUPPLY_DPP.id})[0] == []
    first, page = names(first=4)
    assert first == ["ACME_CELL_PACK_01", "ACME_CELL_PACK_02", "ACME_CELL_PACK_03", "ACME_CELL_PACK_04"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest, page = names(first=4, after=page["pageInfo"]["endCursor"])
    assert rest == ["ACME_CELL_PACK_05", "ACME_CELL_PACK_06"]
    assert (page["pageInfo"]["hasNextPage"], page["pageInfo"]["hasPreviousPage"]) == (False, True)
    code, message, _ = error_of(passport.query(query, {"first": 500}, as_user="acme-manager"))
    assert (code, message) == ("BAD_USER_INPUT", "first must be between 0 and 200")


def test_a_passport_shows_every_field_of_its_template_snapshot(passport: PassportServer) -> None:
    data = passport.data(DETAIL, {"id": PACK_03.id}, as_user="acme-viewer")["passport"]
    assert (data["id"], data["uuid"], data["name"], data["status"]) == (
        PACK_03.id,
        PACK_03.public_uuid,
        "ACME_CELL_PACK_03",
        "DRAFT",
    )
    assert (data["publishedVersion"], data["contentHash"], data["versions"], data["hashChainValid"]) == (
        None,
        None,
        [],
        True,
    )
    assert data["tenant"] == {"id": demo.tenant("acme").id}
    assert data["templateVersion"] == 1
    assert [f["key"] for f in data["fields"]] == [f.key for f in PRODUCT_DPP.fields]
    assert [f["position"] for f in data["fields"]] == list(range(1, 12))
    chemistry = data["fields"][2]
    assert chemistry == {
        "fieldId": PRODUCT_DPP.fields[2].id_for("product-dpp"),
        "key": "chemistry",
        "label": "Cell chemistry",
        "type": "ENUM",
        "access": "PUBLIC",
        "unit": None,
        "required": True,
        "min": None,
        "max": None,
        "pattern": None,
        "enumValues": ["LFP", "NMC", "NCA", "LTO"],
        "position": 3,
        "value": "LFP",
    }
    assert data["fields"][10]["access"] == "CONFIDENTIAL"
    assert data["fields"][10]["value"] is None
    assert data["values"] == sorted(
        ({"key": k, "value": v} for k, v in PACK_03.values), key=lambda item: str(item["key"])
    )
    assert data["missingRequiredFields"] == ["manufacture_date"]
    empty = passport.data(DETAIL, {"id": PACK_06.id}, as_user="acme-viewer")["passport"]
    assert empty["values"] == []
    assert empty["missingRequiredFields"] == [
        "manufacturer_name",
        "model_number",
        "chemistry",
        "capacity_kwh",
        "manufacture_date",
    ]


def test_published_versions_are_sha256_hashes_chained_to_the_previous_one(passport: PassportServer) -> None:
    data = passport.data(DETAIL, {"id": PACK_01.id}, as_user="acme-viewer")["passport"]
    values = dict(PACK_01.values)
    common: dict[str, Any] = {
        "passport_id": PACK_01.id,
        "uuid": PACK_01.public_uuid,
        "name": PACK_01.name,
        "product_id": PACK_01.product_id,
        "template_id": PRODUCT_DPP.id,
        "values": values,
    }
    first = expected_hash(**common, version=1, previous_hash=None)
    second = expected_hash(**common, version=2, previous_hash=first)
    assert [(v["number"], v["contentHash"], v["previousHash"]) for v in data["versions"]] == [
        (2, second, first),
        (1, first, None),
    ]
    assert (data["publishedVersion"], data["contentHash"], data["previousHash"]) == (2, second, first)
    assert data["hashChainValid"] is True
    assert data["versions"][0]["publishedBy"] == {"id": next(u for u in demo.USERS if u.key == "acme-admin").id}
    assert data["versions"][0]["values"] == data["values"]
    # The hashed text holds every value, so it is the Admin's (restricted and confidential access).
    content = passport.data(
        "query($id: ID!) { passport(id: $id) { versions { content } } }", {"id": PACK_01.id}, as_user="acme-admin"
    )["passport"]["versions"][0]["content"]
    assert '"previousHash":"' + first + '"' in content


def test_altering_a_stored_version_breaks_the_hash_chain(passport: PassportServer) -> None:
    async def tamper(session) -> None:
        await session.execute(
            sa.text("UPDATE passport_versions SET content = replace(content, :old, :new) WHERE passport_id = :id"),
            {"old": '"warranty_years":8', "new": '"warranty_years":9', "id": PACK_01.id},
        )

    query = "query($id: ID!) { passport(id: $id) { hashChainValid } }"
    assert passport.data(query, {"id": PACK_01.id}, as_user="acme-viewer")["passport"]["hashChainValid"] is True
    passport.with_session(tamper)
    assert passport.data(query, {"id": PACK_01.id}, as_user="acme-viewer")["passport"]["hashChainValid"] is False
    assert passport.data(query, {"id": PACK_02.id}, as_user="acme-viewer")["passport"]["hashChainValid"] is True


def test_another_tenants_passport_is_not_found(passport: PassportServer) -> None:
    body = passport.query(DETAIL, {"id": PACK_01.id}, as_user="greenloop-admin")
    code, message, extensions = error_of(body)
    assert (code, message) == ("NOT_FOUND", f"Passport {PACK_01.id!r} not found")
    assert extensions == {"code": "NOT_FOUND", "kind": "Passport", "id": PACK_01.id}
    assert body["data"] == {"passport": None}
    assert error_of(passport.query(DETAIL, {"id": UNKNOWN_ID}, as_user="acme-admin"))[1] == (
        f"Passport {UNKNOWN_ID!r} not found"
    )


def test_anonymous_callers_must_sign_in_to_read_tenant_passports(passport: PassportServer) -> None:
    code, message, _ = error_of(passport.query("{ passports { totalCount } }"))
    assert (code, message) == ("UNAUTHENTICATED", "Sign in to do this")
    code, _, _ = error_of(passport.query(DETAIL, {"id": PACK_01.id}))
    assert code == "UNAUTHENTICATED"


def test_public_passport_shows_only_public_fields_of_the_latest_published_version(passport: PassportServer) -> None:
    data = passport.data(PUBLIC, {"uuid": PACK_01.public_uuid})["publicPassport"]
    member = passport.data(DETAIL, {"id": PACK_01.id}, as_user="acme-viewer")["passport"]
    assert {k: data[k] for k in ("uuid", "name", "status", "version", "templateVersion")} == {
        "uuid": PACK_01.public_uuid,
        "name": "ACME_CELL_PACK_01",
        "status": "PUBLISHED",
        "version": 2,
        "templateVersion": 1,
    }
    assert (data["contentHash"], data["previousHash"]) == (member["contentHash"], member["previousHash"])
    assert data["publishedAt"] == member["publishedAt"]
    assert (data["revokedAt"], data["revocationReason"], data["archivedAt"]) == (None, None, None)
    product = next(p for p in demo.PRODUCTS if p.id == PACK_01.product_id)
    assert data["product"] == {"name": product.name, "category": "Batteries"}  # stored at publish time
    assert data["template"] == {"id": PRODUCT_DPP.id}
    values = dict(PACK_01.values)
    assert [f["key"] for f in data["fields"]] == PUBLIC_BATTERY_KEYS
    assert data["fields"][3] == {
        "key": "capacity_kwh",
        "label": "Rated capacity",
        "type": "NUMBER",
        "unit": "kWh",
        "value": values["capacity_kwh"],
    }
    assert {f["key"]: f["value"] for f in data["fields"]} == {k: values[k] for k in PUBLIC_BATTERY_KEYS}
    # Signed-in callers of any tenant get the same public view.
    assert passport.data(PUBLIC, {"uuid": PACK_01.public_uuid}, as_user="greenloop-admin")["publicPassport"] == data


def test_public_passport_of_revoked_archived_draft_and_unknown_passports(passport: PassportServer) -> None:
    revoked = passport.data(PUBLIC, {"uuid": PACK_04.public_uuid})["publicPassport"]
    assert (revoked["status"], revoked["version"]) == ("REVOKED", 1)
    assert revoked["revocationReason"] == "Recalled: cell supplier batch failed conformity testing"
    assert revoked["revokedAt"] == "2026-06-01T00:00:00+00:00"
    assert [f["key"] for f in revoked["fields"]] == PUBLIC_BATTERY_KEYS
    archived = passport.data(PUBLIC, {"uuid": PACK_05.public_uuid})["publicPassport"]
    assert (archived["status"], archived["archivedAt"]) == ("ARCHIVED", "2026-06-01T00:00:00+00:00")
    textile = passport.data(PUBLIC, {"uuid": TEE_01.public_uuid})["publicPassport"]
    assert [f["key"] for f in textile["fields"]] == ["fiber_composition", "country_of_origin", "organic", "water_usage"]
    for uuid in (PACK_03.public_uuid, "00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        body = passport.query(PUBLIC, {"uuid": uuid})
        assert error_of(body)[:2] == ("NOT_FOUND", f"Passport {uuid!r} not found")
        assert body["data"] == {"publicPassport": None}


ENTITIES = """query($r: [_Any!]!) { _entities(representations: $r) {
  ... on Passport { id name status }
  ... on Product { id passportCount passports { name } }
  ... on Template { id passportCount }
} }"""


def test_entities_resolve_passports_by_id_or_uuid_within_the_callers_tenant(passport: PassportServer) -> None:
    reps = [
        {"__typename": "Passport", "id": PACK_02.id},
        {"__typename": "Passport", "uuid": PACK_04.public_uuid},
        {"__typename": "Passport", "id": TEE_01.id},
        {"__typename": "Passport", "id": UNKNOWN_ID},
    ]
    assert passport.data(ENTITIES, {"r": reps}, as_user="acme-viewer")["_entities"] == [
        {"id": PACK_02.id, "name": "ACME_CELL_PACK_02", "status": "PUBLISHED"},
        {"id": PACK_04.id, "name": "ACME_CELL_PACK_04", "status": "REVOKED"},
        None,
        None,
    ]
    assert passport.data(ENTITIES, {"r": reps})["_entities"] == [None, None, None, None]


def test_products_and_templates_are_extended_with_the_callers_passports(passport: PassportServer) -> None:
    reps = [
        {"__typename": "Product", "id": PACK_01.product_id},
        {"__typename": "Product", "id": demo.PRODUCTS[1].id},
        {"__typename": "Product", "id": TEE_01.product_id},
        {"__typename": "Template", "id": PRODUCT_DPP.id},
        {"__typename": "Template", "id": SUPPLY_DPP.id},
    ]
    assert passport.data(ENTITIES, {"r": reps}, as_user="acme-viewer")["_entities"] == [
        {"id": PACK_01.product_id, "passportCount": 1, "passports": [{"name": "ACME_CELL_PACK_01"}]},
        {"id": demo.PRODUCTS[1].id, "passportCount": 0, "passports": []},
        {"id": TEE_01.product_id, "passportCount": 0, "passports": []},
        {"id": PRODUCT_DPP.id, "passportCount": 6},
        {"id": SUPPLY_DPP.id, "passportCount": 0},
    ]
    green = passport.data(ENTITIES, {"r": reps}, as_user="greenloop-admin")["_entities"]
    assert green[2] == {"id": TEE_01.product_id, "passportCount": 1, "passports": [{"name": "GRL_ORGANIC_TEE_01"}]}
    assert (green[3]["passportCount"], green[4]["passportCount"]) == (0, 3)
    # The counts are @authenticated: an anonymous caller resolves none of them (nullable fields this
    # subgraph adds to other subgraphs' entities: each is null with its error, the entities stay).
    anonymous = passport.query(ENTITIES, {"r": reps})
    assert anonymous["data"] == {
        "_entities": [
            {"id": PACK_01.product_id, "passportCount": None, "passports": None},
            {"id": demo.PRODUCTS[1].id, "passportCount": None, "passports": None},
            {"id": TEE_01.product_id, "passportCount": None, "passports": None},
            {"id": PRODUCT_DPP.id, "passportCount": None},
            {"id": SUPPLY_DPP.id, "passportCount": None},
        ]
    }
    assert {e["extensions"]["code"] for e in anonymous["errors"]} == {"UNAUTHENTICATED"}


def test_service_sdl_declares_the_entities_and_extensions(passport: PassportServer) -> None:
    sdl = passport.data("{ _service { sdl } }")["_service"]["sdl"]
    assert 'type Passport @authenticated @key(fields: "id") @key(fields: "uuid")' in sdl
    assert 'type Product @key(fields: "id")' in sdl
    # Fields added to other subgraphs' entities are nullable: null when this subgraph is down.
    assert "passports: [Passport!] @authenticated" in sdl
    assert "passportCount: Int @authenticated" in sdl
    assert 'type Template @key(fields: "id")' in sdl
    assert "publicPassport(uuid: String!): PublicPassport" in sdl


def test_seeding_again_changes_nothing(passport: PassportServer) -> None:
    query = "{ passports { totalCount nodes { name version contentHash versions { contentHash } } } }"
    before = passport.data(query, as_user="acme-viewer")
    prepare_database("passport", passport.database_url)
    assert passport.data(query, as_user="acme-viewer") == before
