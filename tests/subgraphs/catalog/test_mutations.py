"""Catalog changes as users see them: rules, error codes and messages, versions, audit."""

from __future__ import annotations

from typing import Any

from subgraphs.common import demo
from tests.subgraphs.catalog.conftest import Catalog, category_id, error_of, product_id
from tests.support.client import gql

FIELDS = "id name sku description isEnabled isFeatured metadata version category { name }"
CREATE = f"mutation($input: ProductInput!) {{ createProduct(input: $input) {{ {FIELDS} }} }}"
UPDATE = f"""
mutation($id: ID!, $v: Int!, $input: ProductUpdateInput!) {{
  updateProduct(id: $id, expectedVersion: $v, input: $input) {{ {FIELDS} }}
}}"""
FEATURE = "mutation($id: ID!, $on: Boolean!) { featureProduct(id: $id, featured: $on) { name isFeatured version } }"
TRANSFER = """
mutation($id: ID!, $cat: ID!, $v: Int!) {
  transferProduct(id: $id, categoryId: $cat, expectedVersion: $v) { name version category { name } }
}"""
DELETE = "mutation($id: ID!, $v: Int!) { deleteProduct(id: $id, expectedVersion: $v) }"
IMPORT = "mutation($items: [ProductInput!]!) { importProducts(items: $items) { name sku version category { name } } }"
TOTAL = "query($filter: ProductFilter) { products(filter: $filter) { totalCount } }"
AUDIT = """
query($id: ID) {
  catalogAuditLog(objectId: $id, first: 50) { totalCount nodes { action objectId result message before after } }
}"""


def new(name: str, category: str = "batteries", sku: str = "NEW-1", **extra: Any) -> dict[str, Any]:
    return {"name": name, "sku": sku, "categoryId": category_id(category), **extra}


def total(catalog: Catalog, user: str = "acme-viewer", **filter: Any) -> int:
    return catalog.ok(TOTAL, {"filter": filter}, user=user)["products"]["totalCount"]


def test_create_product_and_its_rules(catalog: Catalog) -> None:
    created = catalog.ok(
        CREATE,
        {"input": new("  Cell Pack XL ", description="A big one", metadata={"kwh": 90})},
        user="acme-manager",
    )["createProduct"]
    assert {k: v for k, v in created.items() if k != "id"} == {
        "name": "Cell Pack XL",
        "sku": "NEW-1",
        "description": "A big one",
        "isEnabled": True,
        "isFeatured": False,
        "metadata": {"kwh": 90},
        "version": 1,
        "category": {"name": "Batteries"},
    }
    assert total(catalog) == 37

    duplicate = catalog.query(CREATE, {"input": new("Cell Pack XL", sku="OTHER")}, user="acme-admin")
    assert error_of(duplicate) == ("CONFLICT", "name 'Cell Pack XL' already exists in category 'Batteries'")
    # Names are unique per tenant and category: another tenant, or another category, may reuse it.
    catalog.ok(CREATE, {"input": new("Cell Pack XL")}, user="greenloop-admin")
    catalog.ok(CREATE, {"input": new("Cell Pack XL", "electronics")}, user="acme-manager")

    cases = [
        (new("Teddy", "toys"), ("BAD_USER_INPUT", "category 'Toys' is not active; choose an active category")),
        (
            {**new("Ghost"), "categoryId": "01NOSUCHCATEGORY000000000"},
            ("NOT_FOUND", "Category '01NOSUCHCATEGORY000000000' not found"),
        ),
        (new("   "), ("BAD_USER_INPUT", "name must not be empty")),
        (new("Spaced", sku="A B"), ("BAD_USER_INPUT", "sku must be at most 64 characters without spaces")),
        (new("Listy", metadata=[1, 2]), ("BAD_USER_INPUT", "metadata must be a JSON object")),
    ]
    for payload, expected in cases:
        assert error_of(catalog.query(CREATE, {"input": payload}, user="acme-manager")) == expected
    assert total(catalog) == 38  # none of the failures wrote anything

    viewer = catalog.query(CREATE, {"input": new("Nope")}, user="acme-viewer")
    assert error_of(viewer) == ("FORBIDDEN", "This needs the catalog:write scope")
    anonymous = catalog.query(CREATE, {"input": new("Nope")})
    assert error_of(anonymous) == ("UNAUTHENTICATED", "Sign in to do this")


def test_category_room_is_per_tenant(catalog: Catalog) -> None:
    for i in range(5):
        catalog.ok(CREATE, {"input": new(f"Kettle {i}", "appliances", sku=f"K-{i}")}, user="acme-manager")
    full = catalog.query(CREATE, {"input": new("Kettle 5", "appliances")}, user="acme-manager")
    assert error_of(full) == ("CONFLICT", "category 'Small Appliances' is full: it allows 5 products per tenant")
    assert full["errors"][0]["extensions"]["limit"] == 5
    # GreenLoop's products do not count against Acme's room, nor the other way round.
    catalog.ok(CREATE, {"input": new("Kettle 0", "appliances")}, user="greenloop-admin")
    assert total(catalog, categoryId=category_id("appliances")) == 5


def test_update_product_with_optimistic_locking(catalog: Catalog) -> None:
    pid = product_id("acme", 0)
    changed = catalog.ok(
        UPDATE,
        {"id": pid, "v": 1, "input": {"name": "Cell Pack 01 Pro", "metadata": {"kwh": 75}, "description": ""}},
        user="acme-manager",
    )["updateProduct"]
    assert changed["name"] == "Cell Pack 01 Pro"
    assert changed["metadata"] == {"kwh": 75}
    assert changed["description"] is None
    assert changed["sku"] == "ACM-BAT-0000"
    assert changed["version"] == 2

    stale = catalog.query(UPDATE, {"id": pid, "v": 1, "input": {"sku": "X"}}, user="acme-manager")
    assert error_of(stale) == ("CONFLICT", "version 1 is stale; the current version is 2")
    assert stale["errors"][0]["extensions"]["currentVersion"] == 2

    taken = catalog.query(UPDATE, {"id": pid, "v": 2, "input": {"name": "Cell Pack 02"}}, user="acme-manager")
    assert error_of(taken) == ("CONFLICT", "name 'Cell Pack 02' already exists in category 'Batteries'")

    # A change that changes nothing keeps the version.
    same = catalog.ok(UPDATE, {"id": pid, "v": 2, "input": {"name": "Cell Pack 01 Pro"}}, user="acme-manager")
    assert same["updateProduct"]["version"] == 2

    disabled = catalog.ok(UPDATE, {"id": pid, "v": 2, "input": {"isEnabled": False}}, user="acme-admin")
    assert disabled["updateProduct"]["isEnabled"] is False and disabled["updateProduct"]["version"] == 3

    other = product_id("greenloop", 0)
    foreign = catalog.query(UPDATE, {"id": other, "v": 1, "input": {"name": "Mine"}}, user="acme-manager")
    assert error_of(foreign) == ("NOT_FOUND", f"Product '{other}' not found")
    viewer = catalog.query(UPDATE, {"id": pid, "v": 3, "input": {"name": "X"}}, user="acme-viewer")
    assert error_of(viewer) == ("FORBIDDEN", "This needs the catalog:write scope")


def test_featuring_is_for_admins_and_limited_to_ten(catalog: Catalog) -> None:
    manager = catalog.query(FEATURE, {"id": product_id("acme", 10), "on": True}, user="acme-manager")
    assert error_of(manager) == ("FORBIDDEN", "This needs the catalog:feature permission in the active tenant")

    assert total(catalog, isFeatured=True) == 4
    for index in range(4, 10):
        data = catalog.ok(FEATURE, {"id": product_id("acme", index), "on": True}, user="acme-admin")
        assert data["featureProduct"]["isFeatured"] is True and data["featureProduct"]["version"] == 2
    eleventh = catalog.query(FEATURE, {"id": product_id("acme", 10), "on": True}, user="acme-admin")
    assert error_of(eleventh) == (
        "CONFLICT",
        "at most 10 products may be featured per tenant; unfeature one first",
    )
    assert eleventh["errors"][0]["extensions"]["limit"] == 10
    # Featuring an already featured product is no change, so not refused.
    again = catalog.ok(FEATURE, {"id": product_id("acme", 0), "on": True}, user="acme-admin")
    assert again["featureProduct"]["version"] == 1

    catalog.ok(FEATURE, {"id": product_id("acme", 0), "on": False}, user="acme-admin")
    catalog.ok(FEATURE, {"id": product_id("acme", 10), "on": True}, user="acme-admin")
    assert total(catalog, isFeatured=True) == 10
    # The limit is per tenant: GreenLoop still features its own.
    catalog.ok(FEATURE, {"id": product_id("greenloop", 5), "on": True}, user="greenloop-admin")


def test_transfer_product_between_categories(catalog: Catalog) -> None:
    rack = product_id("acme", 2)  # "Rack 01" in Furniture
    moved = catalog.ok(TRANSFER, {"id": rack, "cat": category_id("electronics"), "v": 1}, user="acme-manager")
    assert moved["transferProduct"] == {"name": "Rack 01", "version": 2, "category": {"name": "Electronics"}}

    same = catalog.query(TRANSFER, {"id": rack, "cat": category_id("electronics"), "v": 2}, user="acme-manager")
    assert error_of(same) == ("BAD_USER_INPUT", "product 'Rack 01' is already in category 'Electronics'")
    inactive = catalog.query(TRANSFER, {"id": rack, "cat": category_id("toys"), "v": 2}, user="acme-manager")
    assert error_of(inactive) == ("BAD_USER_INPUT", "category 'Toys' is not active; choose an active category")
    stale = catalog.query(TRANSFER, {"id": rack, "cat": category_id("batteries"), "v": 1}, user="acme-manager")
    assert error_of(stale) == ("CONFLICT", "version 1 is stale; the current version is 2")

    clash = catalog.ok(CREATE, {"input": new("Cell Pack 01", "textiles")}, user="acme-manager")["createProduct"]
    taken = catalog.query(TRANSFER, {"id": clash["id"], "cat": category_id("batteries"), "v": 1}, user="acme-manager")
    assert error_of(taken) == ("CONFLICT", "name 'Cell Pack 01' already exists in category 'Batteries'")

    for i in range(5):
        catalog.ok(CREATE, {"input": new(f"Toaster {i}", "appliances")}, user="acme-manager")
    full = catalog.query(TRANSFER, {"id": rack, "cat": category_id("appliances"), "v": 2}, user="acme-manager")
    assert error_of(full) == ("CONFLICT", "category 'Small Appliances' is full: it allows 5 products per tenant")


def test_delete_product(catalog: Catalog) -> None:
    pid = product_id("acme", 5)
    stale = catalog.query(DELETE, {"id": pid, "v": 7}, user="acme-manager")
    assert error_of(stale) == ("CONFLICT", "version 7 is stale; the current version is 1")
    assert catalog.ok(DELETE, {"id": pid, "v": 1}, user="acme-manager") == {"deleteProduct": pid}
    assert total(catalog) == 35
    gone = catalog.query("query($id: ID!) { product(id: $id) { name } }", {"id": pid}, user="acme-viewer")
    assert error_of(gone) == ("NOT_FOUND", f"Product '{pid}' not found")

    other = product_id("greenloop", 1)
    foreign = catalog.query(DELETE, {"id": other, "v": 1}, user="acme-admin")
    assert error_of(foreign) == ("NOT_FOUND", f"Product '{other}' not found")
    assert total(catalog, user="greenloop-admin") == 24


def test_import_creates_all_items(catalog: Catalog) -> None:
    items = [new(f"Imported {i}", ("batteries", "textiles", "appliances")[i % 3], sku=f"IMP-{i}") for i in range(6)]
    created = catalog.ok(IMPORT, {"items": items}, user="acme-manager")["importProducts"]
    assert [(p["name"], p["sku"], p["version"], p["category"]["name"]) for p in created] == [
        ("Imported 0", "IMP-0", 1, "Batteries"),
        ("Imported 1", "IMP-1", 1, "Textiles"),
        ("Imported 2", "IMP-2", 1, "Small Appliances"),
        ("Imported 3", "IMP-3", 1, "Batteries"),
        ("Imported 4", "IMP-4", 1, "Textiles"),
        ("Imported 5", "IMP-5", 1, "Small Appliances"),
    ]
    assert total(catalog) == 42


def test_import_is_all_or_nothing_with_errors_per_item(catalog: Catalog) -> None:
    items = [
        new("Fresh One"),  # fine on its own
        new("Cell Pack 03"),  # exists in the database
        new("Teddy", "toys"),  # inactive category
        new("Fresh One", sku="DUP"),  # duplicates item 1
        {**new("Ghost"), "categoryId": "01NOSUCHCATEGORY000000000"},
        new(""),  # invalid input
        new("Fresh One", "electronics"),  # same name, another category: fine
    ]
    body = catalog.query(IMPORT, {"items": items}, user="acme-manager")
    code, message = error_of(body)
    assert code == "BAD_USER_INPUT"
    assert message == (
        "nothing was imported: 5 of 7 items are invalid. "
        "item 2: name 'Cell Pack 03' already exists in category 'Batteries'; "
        "item 3: category 'Toys' is not active; choose an active category; "
        "item 4: name 'Fresh One' appears twice in category 'Batteries' (also item 1); "
        "item 5: Category '01NOSUCHCATEGORY000000000' not found; "
        "item 6: name must not be empty"
    )
    assert body["errors"][0]["extensions"]["itemErrors"] == [
        {"item": 2, "code": "CONFLICT", "message": "name 'Cell Pack 03' already exists in category 'Batteries'"},
        {"item": 3, "code": "BAD_USER_INPUT", "message": "category 'Toys' is not active; choose an active category"},
        {
            "item": 4,
            "code": "CONFLICT",
            "message": "name 'Fresh One' appears twice in category 'Batteries' (also item 1)",
        },
        {"item": 5, "code": "NOT_FOUND", "message": "Category '01NOSUCHCATEGORY000000000' not found"},
        {"item": 6, "code": "BAD_USER_INPUT", "message": "name must not be empty"},
    ]
    assert total(catalog) == 36  # not even item 1 or 7

    room = [new(f"Blender {i}", "appliances", sku=f"B-{i}") for i in range(7)]
    full = catalog.query(IMPORT, {"items": room}, user="acme-manager")
    assert full["errors"][0]["extensions"]["itemErrors"] == [
        {
            "item": n,
            "code": "CONFLICT",
            "message": "category 'Small Appliances' is full: it allows 5 products per tenant",
        }
        for n in (6, 7)
    ]
    assert total(catalog, categoryId=category_id("appliances")) == 0

    empty = catalog.query(IMPORT, {"items": []}, user="acme-manager")
    assert error_of(empty) == ("BAD_USER_INPUT", "items must not be empty")
    viewer = catalog.query(IMPORT, {"items": [new("X")]}, user="acme-viewer")
    assert error_of(viewer) == ("FORBIDDEN", "This needs the catalog:write scope")


def test_every_mutation_is_audited_for_admins_of_the_tenant(catalog: Catalog) -> None:
    pid = product_id("acme", 0)
    catalog.ok(UPDATE, {"id": pid, "v": 1, "input": {"sku": "ACM-NEW"}}, user="acme-manager")
    catalog.query(UPDATE, {"id": pid, "v": 1, "input": {"sku": "LATE"}}, user="acme-manager")
    catalog.ok(CREATE, {"input": new("Audited")}, user="greenloop-admin")

    log = catalog.ok(AUDIT, {"id": pid}, user="acme-admin")["catalogAuditLog"]
    assert log["totalCount"] == 2
    failed, done = log["nodes"]  # newest first
    assert failed["action"] == "updateProduct" and failed["result"] == "CONFLICT"
    assert failed["message"] == "version 1 is stale; the current version is 2"
    assert failed["after"] is None
    assert done["result"] == "OK" and done["objectId"] == pid
    assert (done["before"]["sku"], done["before"]["version"]) == ("ACM-BAT-0000", 1)
    assert (done["after"]["sku"], done["after"]["version"]) == ("ACM-NEW", 2)

    # Acme's admin sees Acme's trail only; GreenLoop's create is in GreenLoop's.
    acme = catalog.ok(AUDIT, {}, user="acme-admin")["catalogAuditLog"]
    assert [n["action"] for n in acme["nodes"]] == ["updateProduct", "updateProduct"]
    green = catalog.ok(AUDIT, {}, user="greenloop-admin")["catalogAuditLog"]
    assert [(n["action"], n["result"], n["after"]["name"]) for n in green["nodes"]] == [
        ("createProduct", "OK", "Audited")
    ]
    manager = catalog.query(AUDIT, {}, user="acme-manager")
    assert error_of(manager) == ("FORBIDDEN", "This needs the Admin role in the active tenant")


def test_a_platform_admin_acting_in_another_tenant_is_audited_as_such(catalog: Catalog) -> None:
    """root administers the platform and is a member of Acme only; it acts in GreenLoop via X-Tenant-ID."""
    token = catalog.issuer.token_for("root")
    greenloop = {"x-tenant-id": demo.tenant("greenloop").id}
    created = gql(catalog.url, CREATE, {"input": new("Loom Controller")}, token=token, headers=greenloop)
    assert "errors" not in created, created
    refused = gql(
        catalog.url, DELETE, {"id": created["data"]["createProduct"]["id"], "v": 99}, token=token, headers=greenloop
    )
    assert refused["errors"][0]["extensions"]["code"] == "CONFLICT"
    log = catalog.ok(AUDIT, {"id": created["data"]["createProduct"]["id"]}, user="greenloop-admin")["catalogAuditLog"]
    entries = sorted((n["action"], n["result"], n["message"]) for n in log["nodes"])
    assert [(a, r) for a, r, _ in entries] == [("createProduct", "OK"), ("deleteProduct", "CONFLICT")]
    assert entries[0][2] == "platform administrator acting in this tenant"
    assert entries[1][2].startswith("platform administrator acting in this tenant: ")
    # Acting in its own tenant, the same administrator is audited as the member it is.
    own = catalog.ok(CREATE, {"input": new("Own Pack")}, user="root")["createProduct"]
    mine = catalog.ok(AUDIT, {"id": own["id"]}, user="acme-admin")["catalogAuditLog"]["nodes"]
    assert [(n["action"], n["message"]) for n in mine] == [("createProduct", None)]
