"""createPassport: checks made locally, and checks made against the real catalog and templates subgraphs."""

from __future__ import annotations

import re

from subgraphs.common import demo
from tests.subgraphs.passport.conftest import PassportServer, Stack, error_of
from tests.support.client import gql

PRODUCT_DPP = demo.template("product-dpp")
SUPPLY_DPP = demo.template("supply-chain-dpp")
ACME = {p.index: p for p in demo.PRODUCTS if p.tenant_key == "acme"}
GREEN = {p.index: p for p in demo.PRODUCTS if p.tenant_key == "greenloop"}
BATTERY_18 = ACME[18]  # "Cell Pack 07", category batteries, no passport yet
CONTROLLER_01 = ACME[1]  # category electronics
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

CREATE = """mutation($input: CreatePassportInput!) { createPassport(input: $input) {
  id uuid name status version templateVersion publishedVersion product { id } template { id } tenant { id }
  fields { fieldId key type access required position value } missingRequiredFields
  auditEntries { action result } } }"""
COUNT = "{ passports { totalCount } }"


def create_input(name: str, product: demo.DemoProduct, template: demo.DemoTemplate, values: dict | None = None) -> dict:
    payload: dict = {"name": name, "productId": product.id, "templateId": template.id}
    if values is not None:
        payload["values"] = [{"key": k, "value": v} for k, v in values.items()]
    return {"input": payload}


def test_local_checks_come_first(passport: PassportServer) -> None:
    viewer = passport.query(CREATE, create_input("ACME_NEW", BATTERY_18, PRODUCT_DPP), as_user="acme-viewer")
    assert error_of(viewer)[:2] == ("FORBIDDEN", "This needs the passport:write scope")
    anonymous = passport.query(CREATE, create_input("ACME_NEW", BATTERY_18, PRODUCT_DPP))
    assert error_of(anonymous)[:2] == ("UNAUTHENTICATED", "Sign in to do this")
    for bad in ("acme_new", "AB", "A" * 51, "ACME-NEW", "1ACME"):
        body = passport.query(CREATE, create_input(bad, BATTERY_18, PRODUCT_DPP), as_user="acme-manager")
        code, message, extensions = error_of(body)
        assert code == "BAD_USER_INPUT"
        assert message == (
            f"name {bad!r} must match ^[A-Z][A-Z0-9_]{{2,49}}$: 3 to 50 characters, an upper-case letter first, "
            "then upper-case letters, digits or underscores"
        )
        assert extensions["argument"] == "name"
    taken = passport.query(CREATE, create_input("ACME_CELL_PACK_01", BATTERY_18, PRODUCT_DPP), as_user="acme-manager")
    assert error_of(taken)[:2] == ("CONFLICT", "a passport named 'ACME_CELL_PACK_01' already exists in this tenant")
    # Names are unique per tenant: GreenLoop may use one of Acme's names (the peers answer next, here: down).
    other = passport.query(CREATE, create_input("ACME_CELL_PACK_01", GREEN[0], SUPPLY_DPP), as_user="greenloop-admin")
    assert error_of(other)[0] == "SERVICE_UNAVAILABLE"


def test_a_peer_that_is_down_is_reported_and_nothing_is_written(passport: PassportServer) -> None:
    body = passport.query(CREATE, create_input("ACME_NEW", BATTERY_18, PRODUCT_DPP), as_user="acme-manager")
    code, message, extensions = error_of(body)
    assert code == "SERVICE_UNAVAILABLE"
    assert message == "catalog subgraph unavailable (ConnectError); nothing was changed, try again"
    assert extensions["service"] == "catalog"
    assert body["data"] is None
    assert passport.data(COUNT, as_user="acme-manager")["passports"]["totalCount"] == 6


def test_create_snapshots_the_published_template_version(stack: Stack) -> None:
    server = stack.passport
    body = server.query(
        CREATE,
        create_input("ACME_CELL_PACK_07", BATTERY_18, PRODUCT_DPP, {"manufacturer_name": "Acme", "capacity_kwh": 75.0}),
        as_user="acme-manager",
    )
    assert "errors" not in body, body
    created = body["data"]["createPassport"]
    assert UUID4.match(created["uuid"])
    assert (created["name"], created["status"], created["version"], created["publishedVersion"]) == (
        "ACME_CELL_PACK_07",
        "DRAFT",
        1,
        None,
    )
    assert created["product"] == {"id": BATTERY_18.id}
    assert (created["template"], created["templateVersion"]) == ({"id": PRODUCT_DPP.id}, 1)
    assert created["tenant"] == {"id": demo.tenant("acme").id}
    # The snapshot is the template version as the templates subgraph serves it.
    fields_query = (
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on Template "
        "{ fields { id key type access required position } } } }"
    )
    served = gql(stack.templates_url, fields_query, {"r": [{"__typename": "Template", "id": PRODUCT_DPP.id}]})
    expected = [
        {
            "fieldId": f["id"],
            "key": f["key"],
            "type": f["type"],
            "access": f["access"],
            "required": f["required"],
            "position": f["position"],
        }
        for f in served["data"]["_entities"][0]["fields"]
    ]
    assert [{k: v for k, v in f.items() if k != "value"} for f in created["fields"]] == expected
    assert {f["key"]: f["value"] for f in created["fields"] if f["value"] is not None} == {
        "manufacturer_name": "Acme",
        "capacity_kwh": 75,
    }
    assert created["missingRequiredFields"] == ["model_number", "chemistry", "manufacture_date"]
    assert [(a["action"], a["result"]) for a in created["auditEntries"]] == [("createPassport", "OK")]
    # before/after hold every value: the Admin reads them (restricted and confidential access)
    trail = server.data(
        "query($id: ID!) { passport(id: $id) { auditEntries { after } } }", {"id": created["id"]}, as_user="acme-admin"
    )
    assert trail["passport"]["auditEntries"][0]["after"]["name"] == "ACME_CELL_PACK_07"

    # The new draft goes the whole way with its snapshot.
    values = [
        {"key": "model_number", "value": "ACM-CP-018"},
        {"key": "chemistry", "value": "LFP"},
        {"key": "manufacture_date", "value": "2026-11-01"},
    ]
    set_values = (
        "mutation($id: ID!, $values: [FieldValueInput!]!) "
        "{ setPassportValues(id: $id, expectedVersion: 1, values: $values) { version } }"
    )
    assert server.data(set_values, {"id": created["id"], "values": values}, as_user="acme-manager") == {
        "setPassportValues": {"version": 2}
    }
    published = server.data(
        "mutation($id: ID!) { publishPassport(id: $id) { status publishedVersion hashChainValid } }",
        {"id": created["id"]},
        as_user="acme-admin",  # the passport:publish policy
    )
    assert published == {"publishPassport": {"status": "PUBLISHED", "publishedVersion": 1, "hashChainValid": True}}
    public = server.data("query($u: String!) { publicPassport(uuid: $u) { name status } }", {"u": created["uuid"]})
    assert public == {"publicPassport": {"name": "ACME_CELL_PACK_07", "status": "PUBLISHED"}}
    counts = server.data(
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { passportCount } } }",
        {"r": [{"__typename": "Product", "id": BATTERY_18.id}]},
        as_user="acme-viewer",
    )
    assert counts == {"_entities": [{"passportCount": 1}]}


def test_the_template_must_be_for_the_products_category(stack: Stack) -> None:
    server = stack.passport
    body = server.query(CREATE, create_input("ACME_CONTROLLER", CONTROLLER_01, PRODUCT_DPP), as_user="acme-manager")
    code, message, extensions = error_of(body)
    assert (code, extensions["argument"]) == ("BAD_USER_INPUT", "templateId")
    assert message == (
        "template 'Product DPP' version 1 is not for the category of product 'Controller 01' (Electronics); "
        "choose a template of that category"
    )
    body = server.query(CREATE, create_input("ACME_TEXTILE", BATTERY_18, SUPPLY_DPP), as_user="acme-manager")
    assert error_of(body)[1] == (
        "template 'Supply Chain DPP' version 1 is not for the category of product 'Cell Pack 07' (Batteries); "
        "choose a template of that category"
    )
    assert server.data(COUNT, as_user="acme-manager")["passports"]["totalCount"] == 6


def test_products_and_templates_the_caller_cannot_see_are_not_found(stack: Stack) -> None:
    server = stack.passport
    foreign = server.query(CREATE, create_input("ACME_FOREIGN", GREEN[0], SUPPLY_DPP), as_user="acme-manager")
    assert error_of(foreign)[:2] == ("NOT_FOUND", f"Product {GREEN[0].id!r} not found")
    unknown_template = "01KDVDNA00AAAAAAAAAAAAAAAA"
    body = server.query(
        CREATE,
        {"input": {"name": "ACME_UNKNOWN", "productId": BATTERY_18.id, "templateId": unknown_template}},
        as_user="acme-manager",
    )
    assert error_of(body)[:2] == ("NOT_FOUND", f"Template {unknown_template!r} not found")


def test_only_published_template_versions_back_a_passport(stack: Stack) -> None:
    revised = gql(
        stack.templates_url,
        "mutation($id: ID!) { reviseTemplate(id: $id) { id version status } }",
        {"id": PRODUCT_DPP.id},
        token=stack.passport.issuer.token_for("root"),
    )
    assert "errors" not in revised, revised
    draft = revised["data"]["reviseTemplate"]
    assert (draft["version"], draft["status"]) == (2, "DRAFT")
    body = stack.passport.query(
        CREATE,
        {"input": {"name": "ACME_FROM_DRAFT", "productId": BATTERY_18.id, "templateId": draft["id"]}},
        as_user="root",
    )
    code, message, _ = error_of(body)
    assert (code, message) == (
        "BAD_USER_INPUT",
        "template 'Product DPP' version 2 is DRAFT; only a PUBLISHED template version can back a passport",
    )


def test_invalid_initial_values_create_nothing(stack: Stack) -> None:
    server = stack.passport
    body = server.query(
        CREATE,
        create_input("ACME_BAD_VALUES", BATTERY_18, PRODUCT_DPP, {"chemistry": "LiPo", "recycled_content": 120}),
        as_user="acme-manager",
    )
    code, message, extensions = error_of(body)
    assert code == "BAD_USER_INPUT"
    assert (
        message
        == "2 values are invalid: chemistry must be one of LFP, NMC, NCA, LTO; recycled_content must be at most 100"
    )
    assert extensions["fieldErrors"] == [
        {"key": "chemistry", "message": "must be one of LFP, NMC, NCA, LTO"},
        {"key": "recycled_content", "message": "must be at most 100"},
    ]
    assert server.data(COUNT, as_user="acme-manager")["passports"]["totalCount"] == 6
