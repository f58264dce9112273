"""The templates subgraph's declared authorization, enforced by the subgraph itself: published templates,
the field library and category templates stay open (also through ``_entities``), drafts do not,
every change needs templates:write, and denied changes are audited."""

from __future__ import annotations

from typing import Any

import pytest

from subgraphs.common import demo
from tests.subgraphs.templates.conftest import TemplatesServer
from tests.subgraphs.templates.test_authoring import (
    CREATE,
    PUBLISH,
    ROOT,
    audit_rows,
    new_template,
    product_field_ids,
)

PRODUCT = demo.template("product-dpp")
BATTERIES = PRODUCT.category_id
ENTITIES = """query($r: [_Any!]!) { _entities(representations: $r) {
  ... on Template { id name status fields { key access } }
  ... on TemplateField { id key }
  ... on Category { id templates { name } }
} }"""
ENABLE = "mutation($id: ID!) { enableTemplate(templateId: $id) { id enabledForMyTenant } }"


def user_id(key: str) -> str:
    return next(u for u in demo.USERS if u.key == key).id


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


def test_published_templates_and_the_field_library_are_open(templates: TemplatesServer) -> None:
    data = templates.data("{ templates { nodes { name status enabledForMyTenant } } templateFields { totalCount } }")
    assert [n["name"] for n in data["templates"]["nodes"]] == ["Product DPP", "Supply Chain DPP"]
    assert {n["enabledForMyTenant"] for n in data["templates"]["nodes"]} == {False}
    assert data["templateFields"]["totalCount"] > 0
    body = templates.query("{ templateAuditLog { totalCount } }")
    assert codes(body) == ["UNAUTHENTICATED"]


def test_anonymous_entities_see_published_templates_fields_and_categories_but_no_draft(
    templates: TemplatesServer,
) -> None:
    draft = new_template(templates, "Unpublished", product_field_ids("manufacturer_name"))
    field_id = product_field_ids("unit_cost")[0]
    reps = [
        {"__typename": "Template", "id": PRODUCT.id},
        {"__typename": "Template", "id": draft["id"]},
        {"__typename": "TemplateField", "id": field_id},
        {"__typename": "Category", "id": BATTERIES},
    ]
    entities = templates.data(ENTITIES, {"r": reps})["_entities"]
    assert entities[0]["name"] == "Product DPP" and entities[0]["status"] == "PUBLISHED"
    assert len(entities[0]["fields"]) == len(PRODUCT.fields)
    assert entities[1] is None
    assert entities[2] == {"id": field_id, "key": "unit_cost"}
    assert entities[3] == {"id": BATTERIES, "templates": [{"name": "Product DPP"}]}
    # the platform administrator sees the draft
    assert templates.data(ENTITIES, {"r": reps[1:2]}, as_user=ROOT)["_entities"][0]["name"] == "Unpublished"


@pytest.mark.parametrize(
    ("user", "code", "message"),
    [
        (None, "UNAUTHENTICATED", "Sign in to do this"),
        ("acme-viewer", "FORBIDDEN", "This needs the templates:write scope"),
        # the scope is there; authoring also needs a platform administrator (the domain's rule)
        ("acme-manager", "FORBIDDEN", "Only platform administrators may do this"),
        ("acme-admin", "FORBIDDEN", "Only platform administrators may do this"),
    ],
)
def test_changes_need_templates_write_and_the_domain_roles(
    templates: TemplatesServer, user: str | None, code: str, message: str
) -> None:
    body = templates.query(CREATE, {"i": {"name": "X", "categoryId": BATTERIES, "fieldIds": []}}, as_user=user)
    assert codes(body) == [code]
    assert body["errors"][0]["message"] == message


def test_enablement_needs_templates_write_then_a_tenant_admin(templates: TemplatesServer) -> None:
    supply = demo.template("supply-chain-dpp")
    viewer = templates.query(ENABLE, {"id": supply.id}, as_user="acme-viewer")
    assert codes(viewer) == ["FORBIDDEN"]
    assert viewer["errors"][0]["message"] == "This needs the templates:write scope"
    manager = templates.query(ENABLE, {"id": supply.id}, as_user="acme-manager")
    assert manager["errors"][0]["message"] == "This needs the Admin role in the active tenant"
    enabled = templates.data(ENABLE, {"id": supply.id}, as_user="greenloop-admin")["enableTemplate"]
    assert enabled["enabledForMyTenant"] is True


def test_denied_changes_are_audited_once(templates: TemplatesServer) -> None:
    templates.query(PUBLISH, {"id": PRODUCT.id})
    templates.query(PUBLISH, {"id": PRODUCT.id}, as_user="acme-viewer")
    templates.query(PUBLISH, {"id": PRODUCT.id}, as_user="acme-admin")
    assert audit_rows(templates.database_url) == [
        ("publishTemplate", "UNAUTHENTICATED", PRODUCT.id, None),  # by the schema's directive
        ("publishTemplate", "FORBIDDEN", PRODUCT.id, user_id("acme-viewer")),  # by the schema's directive
        ("publishTemplate", "FORBIDDEN", PRODUCT.id, user_id("acme-admin")),  # by the domain (run_mutation)
    ]
