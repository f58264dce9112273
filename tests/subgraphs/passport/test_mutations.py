"""Editing, publishing, revising, revoking and archiving passports; their audit trail."""

from __future__ import annotations

from typing import Any

from subgraphs.common import demo
from tests.subgraphs.passport.conftest import PassportServer, error_of, expected_hash

BY_NAME = {p.name: p for p in demo.PASSPORTS}
PACK_01, PACK_02, PACK_03, PACK_06 = (BY_NAME[f"ACME_CELL_PACK_0{i}"] for i in (1, 2, 3, 6))
PRODUCT_DPP = demo.template("product-dpp")
ACME_MANAGER_ID = next(u for u in demo.USERS if u.key == "acme-manager").id

STATE = """query($id: ID!) { passport(id: $id) {
  name status version publishedVersion contentHash previousHash revokedAt revocationReason archivedAt
  values { key value } restrictedValues { key value } confidentialValues { key value }
  missingRequiredFields hashChainValid
  versions { number contentHash previousHash content }
  auditEntries { action result message user { id } before after }
} }"""
SET_VALUES = """mutation($id: ID!, $v: Int!, $values: [FieldValueInput!]!) {
  setPassportValues(id: $id, expectedVersion: $v, values: $values) { name status version values { key value }
  restrictedValues { key value } missingRequiredFields } }"""
PUBLISH = """mutation($id: ID!, $v: Int) { publishPassport(id: $id, expectedVersion: $v) {
  status version publishedVersion contentHash previousHash hashChainValid } }"""
REVISE = "mutation($id: ID!) { revisePassport(id: $id) { status version publishedVersion contentHash } }"
REVOKE = """mutation($id: ID!, $reason: String!) { revokePassport(id: $id, reason: $reason) {
  status revocationReason revokedAt } }"""
ARCHIVE = "mutation($id: ID!) { archivePassport(id: $id) { status archivedAt } }"
PUBLIC = """query($uuid: String!) { publicPassport(uuid: $uuid) {
  status version contentHash previousHash revocationReason fields { key value } } }"""


def state(passport: PassportServer, demo_passport: demo.DemoPassport) -> dict[str, Any]:
    """The passport as its Admin reads it (every access level), ``values`` holding the values of all levels."""
    data = passport.data(STATE, {"id": demo_passport.id}, as_user="acme-admin")["passport"]
    merged = data["values"] + data.pop("restrictedValues") + data.pop("confidentialValues")
    return {**data, "values": sorted(merged, key=lambda item: item["key"])}


def written(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The PUBLIC and RESTRICTED values a writer reads back from setPassportValues, by key."""
    return sorted(result["values"] + result["restrictedValues"], key=lambda item: item["key"])


def as_values(pairs: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": v} for k, v in pairs.items()]


def set_values(passport: PassportServer, demo_passport: demo.DemoPassport, version: int, values: dict, **who) -> dict:
    who = who or {"as_user": "acme-manager"}
    return passport.query(SET_VALUES, {"id": demo_passport.id, "v": version, "values": as_values(values)}, **who)


def test_setting_values_of_a_draft_validates_merges_and_bumps_the_version(passport: PassportServer) -> None:
    before = state(passport, PACK_03)
    assert before["missingRequiredFields"] == ["manufacture_date"]
    body = set_values(
        passport,
        PACK_03,
        before["version"],
        {"manufacture_date": "2026-05-01", "capacity_kwh": 80.0, "warranty_years": 10, "hazardous": True},
    )
    assert "errors" not in body, body
    result = body["data"]["setPassportValues"]
    assert result["version"] == before["version"] + 1
    assert result["missingRequiredFields"] == []
    values = {item["key"]: item["value"] for item in written(result)}
    assert values == {
        "manufacturer_name": "Acme Batteries GmbH",
        "model_number": "ACM-CP-006",
        "chemistry": "LFP",
        "capacity_kwh": 80,
        "manufacture_date": "2026-05-01",
        "warranty_years": 10,
        "hazardous": True,
    }
    # null clears a field.
    cleared = set_values(passport, PACK_03, result["version"], {"hazardous": None, "warranty_years": None})
    assert "errors" not in cleared, cleared
    assert [v["key"] for v in written(cleared["data"]["setPassportValues"])] == [
        "capacity_kwh",
        "chemistry",
        "manufacture_date",
        "manufacturer_name",
        "model_number",
    ]
    audit = state(passport, PACK_03)["auditEntries"]
    assert [(a["action"], a["result"]) for a in audit] == [("setPassportValues", "OK"), ("setPassportValues", "OK")]
    assert audit[1]["user"] == {"id": ACME_MANAGER_ID}
    assert audit[1]["before"]["values"] == dict(PACK_03.values)
    assert audit[1]["after"]["values"] == values


def test_every_invalid_value_is_reported_and_nothing_is_written(passport: PassportServer) -> None:
    before = state(passport, PACK_03)
    body = set_values(
        passport,
        PACK_03,
        before["version"],
        {
            "manufacturer_name": 42,
            "model_number": "bad model",
            "chemistry": "LiPo",
            "capacity_kwh": 5000,
            "recycled_content": "lots",
            "warranty_years": 2.5,
            "hazardous": "no",
            "manufacture_date": "2026-02-30",
            "safety_datasheet": "ftp://acme.example/sds.pdf",
            "colour": "red",
        },
    )
    code, message, extensions = error_of(body)
    expected = [
        ("manufacturer_name", "must be a string"),
        ("model_number", "must match the pattern ^[A-Z0-9-]{3,40}$"),
        ("chemistry", "must be one of LFP, NMC, NCA, LTO"),
        ("capacity_kwh", "must be at most 2000"),
        ("recycled_content", "must be a number"),
        ("warranty_years", "must be an integer"),
        ("hazardous", "must be true or false"),
        ("manufacture_date", "'2026-02-30' is not a calendar date"),
        ("safety_datasheet", "must be an http(s) URL"),
        ("colour", "is not a field of this passport's template"),
    ]
    assert code == "BAD_USER_INPUT"
    assert message == "10 values are invalid: " + "; ".join(f"{k} {m}" for k, m in expected)
    assert extensions["fieldErrors"] == [{"key": k, "message": m} for k, m in expected]
    after = state(passport, PACK_03)
    assert (after["version"], after["values"]) == (before["version"], before["values"])
    assert [(a["action"], a["result"], a["message"]) for a in after["auditEntries"]] == [
        ("setPassportValues", "BAD_USER_INPUT", message)
    ]
    below = set_values(passport, PACK_03, before["version"], {"capacity_kwh": -1, "country_of_origin": "PT"})
    assert error_of(below)[2]["fieldErrors"] == [
        {"key": "capacity_kwh", "message": "must be at least 0"},
        {"key": "country_of_origin", "message": "is not a field of this passport's template"},
    ]


def test_a_stale_expected_version_is_a_conflict_naming_the_current_one(passport: PassportServer) -> None:
    current = state(passport, PACK_03)["version"]
    code, message, extensions = error_of(set_values(passport, PACK_03, current - 1, {"warranty_years": 5}))
    assert code == "CONFLICT"
    assert message == (
        f"version {current - 1} of passport 'ACME_CELL_PACK_03' is stale; the current version is {current}"
    )
    assert extensions["currentVersion"] == current
    assert state(passport, PACK_03)["version"] == current


def test_only_managers_of_the_owning_tenant_may_edit(passport: PassportServer) -> None:
    current = state(passport, PACK_03)["version"]
    viewer = set_values(passport, PACK_03, current, {"warranty_years": 5}, as_user="acme-viewer")
    assert error_of(viewer)[:2] == ("FORBIDDEN", "This needs the passport:write scope")
    consultant = set_values(passport, PACK_03, current, {"warranty_years": 5}, as_user="consultant", tenant="acme")
    assert error_of(consultant)[0] == "FORBIDDEN"
    other = set_values(passport, PACK_03, current, {"warranty_years": 5}, as_user="greenloop-admin")
    assert error_of(other)[:2] == ("NOT_FOUND", f"Passport {PACK_03.id!r} not found")
    anonymous = passport.query(SET_VALUES, {"id": PACK_03.id, "v": current, "values": as_values({"warranty_years": 5})})
    assert error_of(anonymous)[:2] == ("UNAUTHENTICATED", "Sign in to do this")
    after = state(passport, PACK_03)
    assert after["version"] == current
    # The failures of acme's own members are in acme's trail; another tenant's attempt is not.
    assert [(a["action"], a["result"]) for a in after["auditEntries"]] == [
        ("setPassportValues", "FORBIDDEN"),
        ("setPassportValues", "FORBIDDEN"),
    ]


def test_published_passports_are_not_edited_in_place(passport: PassportServer) -> None:
    current = state(passport, PACK_01)["version"]
    code, message, _ = error_of(set_values(passport, PACK_01, current, {"warranty_years": 5}))
    assert (code, message) == (
        "CONFLICT",
        "passport 'ACME_CELL_PACK_01' is PUBLISHED; only a DRAFT can be edited "
        "(start a new version with revisePassport)",
    )
    code, message, _ = error_of(passport.query(PUBLISH, {"id": PACK_01.id}, as_user="acme-admin"))
    assert (code, message) == (
        "CONFLICT",
        "passport 'ACME_CELL_PACK_01' is PUBLISHED; only a DRAFT can be published "
        "(start a new version with revisePassport)",
    )


def test_publishing_needs_every_required_field(passport: PassportServer) -> None:
    version = state(passport, PACK_06)["version"]
    code, message, extensions = error_of(passport.query(PUBLISH, {"id": PACK_06.id}, as_user="acme-admin"))
    assert code == "BAD_USER_INPUT"
    assert message == (
        "passport 'ACME_CELL_PACK_06' cannot be published: required fields without a value: "
        "manufacturer_name, model_number, chemistry, capacity_kwh, manufacture_date"
    )
    assert extensions["missingFields"] == [
        "manufacturer_name",
        "model_number",
        "chemistry",
        "capacity_kwh",
        "manufacture_date",
    ]
    after = state(passport, PACK_06)
    assert (after["status"], after["publishedVersion"], after["versions"]) == ("DRAFT", None, [])
    assert after["version"] == version  # the failed attempt changed nothing


def test_publish_revise_publish_builds_an_immutable_hash_chain(passport: PassportServer) -> None:
    with_date = set_values(passport, PACK_03, state(passport, PACK_03)["version"], {"manufacture_date": "2026-05-01"})
    version = with_date["data"]["setPassportValues"]["version"]
    values = {**dict(PACK_03.values), "manufacture_date": "2026-05-01"}
    identity = {
        "passport_id": PACK_03.id,
        "uuid": PACK_03.public_uuid,
        "name": PACK_03.name,
        "product_id": PACK_03.product_id,
        "template_id": PRODUCT_DPP.id,
    }
    first_hash = expected_hash(**identity, version=1, values=values, previous_hash=None)

    published = passport.data(PUBLISH, {"id": PACK_03.id, "v": version}, as_user="acme-admin")["publishPassport"]
    assert published == {
        "status": "PUBLISHED",
        "version": version + 1,
        "publishedVersion": 1,
        "contentHash": first_hash,
        "previousHash": None,
        "hashChainValid": True,
    }
    public = passport.data(PUBLIC, {"uuid": PACK_03.public_uuid})["publicPassport"]
    assert (public["status"], public["version"], public["contentHash"]) == ("PUBLISHED", 1, first_hash)
    # manufacture_date is RESTRICTED: not in the public view.
    public_keys = [f["key"] for f in public["fields"]]
    assert public_keys[:4] == ["manufacturer_name", "model_number", "chemistry", "capacity_kwh"]
    assert "manufacture_date" not in public_keys
    v1_content = state(passport, PACK_03)["versions"][0]["content"]

    revised = passport.data(REVISE, {"id": PACK_03.id}, as_user="acme-manager")["revisePassport"]
    assert revised == {"status": "DRAFT", "version": version + 2, "publishedVersion": 1, "contentHash": first_hash}
    # While the next version is drafted, the public still reads version 1.
    assert passport.data(PUBLIC, {"uuid": PACK_03.public_uuid})["publicPassport"] == public
    edited = set_values(passport, PACK_03, version + 2, {"capacity_kwh": 99.5})
    assert "errors" not in edited, edited
    assert passport.data(PUBLIC, {"uuid": PACK_03.public_uuid})["publicPassport"] == public

    second = passport.data(PUBLISH, {"id": PACK_03.id}, as_user="acme-admin")["publishPassport"]
    second_hash = expected_hash(
        **identity, version=2, values={**values, "capacity_kwh": 99.5}, previous_hash=first_hash
    )
    assert (second["publishedVersion"], second["contentHash"], second["previousHash"]) == (2, second_hash, first_hash)
    after = state(passport, PACK_03)
    assert [(v["number"], v["contentHash"], v["previousHash"]) for v in after["versions"]] == [
        (2, second_hash, first_hash),
        (1, first_hash, None),
    ]
    assert after["versions"][1]["content"] == v1_content
    assert after["hashChainValid"] is True
    public = passport.data(PUBLIC, {"uuid": PACK_03.public_uuid})["publicPassport"]
    assert (public["version"], public["contentHash"], public["previousHash"]) == (2, second_hash, first_hash)
    assert {f["key"]: f["value"] for f in public["fields"]}["capacity_kwh"] == 99.5
    assert [a["action"] for a in after["auditEntries"]] == [
        "publishPassport",
        "setPassportValues",
        "revisePassport",
        "publishPassport",
        "setPassportValues",
    ]
    assert after["auditEntries"][0]["after"]["contentHash"] == second_hash


def test_revoking_keeps_the_passport_public_with_the_reason(passport: PassportServer) -> None:
    code, message, _ = error_of(passport.query(REVOKE, {"id": PACK_02.id, "reason": "   "}, as_user="acme-admin"))
    assert (code, message) == ("BAD_USER_INPUT", "a reason is required to revoke a passport")
    revoked = passport.data(REVOKE, {"id": PACK_02.id, "reason": "  Wrong capacity declared  "}, as_user="acme-admin")[
        "revokePassport"
    ]
    assert (revoked["status"], revoked["revocationReason"]) == ("REVOKED", "Wrong capacity declared")
    assert revoked["revokedAt"] is not None
    public = passport.data(PUBLIC, {"uuid": PACK_02.public_uuid})["publicPassport"]
    assert (public["status"], public["version"], public["revocationReason"]) == (
        "REVOKED",
        1,
        "Wrong capacity declared",
    )
    again = passport.query(REVOKE, {"id": PACK_02.id, "reason": "again"}, as_user="acme-admin")
    assert error_of(again)[:2] == ("CONFLICT", "passport 'ACME_CELL_PACK_02' is already REVOKED")
    assert error_of(passport.query(REVISE, {"id": PACK_02.id}, as_user="acme-manager"))[:2] == (
        "CONFLICT",
        "passport 'ACME_CELL_PACK_02' is REVOKED; only a PUBLISHED passport can be revised",
    )
    never = passport.query(REVOKE, {"id": PACK_06.id, "reason": "test"}, as_user="acme-admin")
    assert error_of(never)[:2] == (
        "CONFLICT",
        "passport 'ACME_CELL_PACK_06' was never published; only a published passport can be revoked",
    )


def test_archiving_retires_a_published_passport(passport: PassportServer) -> None:
    archived = passport.data(ARCHIVE, {"id": PACK_01.id}, as_user="acme-admin")["archivePassport"]
    assert archived["status"] == "ARCHIVED"
    public = passport.data(PUBLIC, {"uuid": PACK_01.public_uuid})["publicPassport"]
    assert (public["status"], public["version"]) == ("ARCHIVED", 2)
    assert error_of(passport.query(ARCHIVE, {"id": PACK_01.id}, as_user="acme-admin"))[:2] == (
        "CONFLICT",
        "passport 'ACME_CELL_PACK_01' is already ARCHIVED",
    )
    assert error_of(passport.query(REVOKE, {"id": PACK_01.id, "reason": "x"}, as_user="acme-admin"))[0] == "CONFLICT"
