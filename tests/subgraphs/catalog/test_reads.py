"""What callers read from the catalog: categories, product lists, single products, entities."""

from __future__ import annotations

from tests.subgraphs.catalog.conftest import Catalog, category_id, error_of, product_id

PAGE = """
query($filter: ProductFilter, $orderBy: ProductOrder, $first: Int, $after: String) {
  products(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { name }
  }
}
"""

ENTITIES = """
query($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Product { id name sku description metadata isEnabled category { name } tenant { id } }
    ... on Category { id name parent { name } }
  }
}
"""


def names(data: dict) -> list[str]:
    return [node["name"] for node in data["products"]["nodes"]]


def test_service_sdl_declares_the_entities(catalog: Catalog) -> None:
    sdl = catalog.ok("{ _service { sdl } }")["_service"]["sdl"]
    assert 'type Category @key(fields: "id")' in sdl
    assert 'type Product @authenticated @key(fields: "id")' in sdl
    assert 'type Tenant @key(fields: "id") {\n  id: ID!\n}' in sdl
    assert "How many products EACH TENANT may keep in this category" in sdl


def test_categories_are_public_with_their_parents(catalog: Catalog) -> None:
    data = catalog.ok("{ categories { id name isActive maxProducts productType parent { name } productCount } }")
    by_name = {c["name"]: c for c in data["categories"]}
    assert list(by_name) == ["Batteries", "Electronics", "Furniture", "Small Appliances", "Textiles", "Toys"]
    assert by_name["Batteries"] == {
        "id": category_id("batteries"),
        "name": "Batteries",
        "isActive": True,
        "maxProducts": None,
        "productType": "battery",
        "parent": {"name": "Electronics"},
        "productCount": 0,  # anonymous callers have no tenant
    }
    assert by_name["Toys"]["isActive"] is False
    assert by_name["Small Appliances"]["maxProducts"] == 5

    active = catalog.ok("{ categories(activeOnly: true) { name } }")["categories"]
    assert "Toys" not in [c["name"] for c in active]

    counts = catalog.ok("{ categories { name productCount } }", user="acme-viewer")["categories"]
    assert {c["name"]: c["productCount"] for c in counts} == {
        "Batteries": 12,
        "Electronics": 12,
        "Furniture": 12,
        "Small Appliances": 0,
        "Textiles": 0,
        "Toys": 0,
    }

    missing = catalog.query('{ category(id: "nope") { name } }')
    assert error_of(missing) == ("NOT_FOUND", "Category 'nope' not found")


def test_anonymous_callers_cannot_read_products(catalog: Catalog) -> None:
    assert error_of(catalog.query("{ products { totalCount } }")) == ("UNAUTHENTICATED", "Sign in to do this")
    body = catalog.query("query($id: ID!) { product(id: $id) { name } }", {"id": product_id("acme", 0)})
    assert error_of(body) == ("UNAUTHENTICATED", "Sign in to do this")


def test_products_are_paged_within_the_callers_tenant(catalog: Catalog) -> None:
    first = catalog.ok(PAGE, {"first": 10}, user="acme-viewer")
    assert first["products"]["totalCount"] == 36
    assert names(first)[:3] == ["Cell Pack 01", "Cell Pack 02", "Cell Pack 03"]
    info = first["products"]["pageInfo"]
    assert info["hasNextPage"] is True and info["hasPreviousPage"] is False

    second = catalog.ok(PAGE, {"first": 10, "after": info["endCursor"]}, user="acme-viewer")
    assert names(second) == ["Cell Pack 11", "Cell Pack 12"] + [f"Controller {i:02d}" for i in range(1, 9)]
    assert second["products"]["pageInfo"]["hasPreviousPage"] is True

    last = catalog.ok(PAGE, {"first": 10, "after": "bzoyOQ=="}, user="acme-viewer")  # after offset 29
    assert names(last) == [f"Rack {i:02d}" for i in range(7, 13)]
    assert last["products"]["pageInfo"]["hasNextPage"] is False

    green = catalog.ok(PAGE, {"first": 0}, user="greenloop-admin")
    assert green["products"]["totalCount"] == 24 and names(green) == []

    bad = catalog.query(PAGE, {"after": "garbage"}, user="acme-viewer")
    assert error_of(bad) == ("BAD_USER_INPUT", "Invalid cursor 'garbage'")
    too_many = catalog.query(PAGE, {"first": 201}, user="acme-viewer")
    assert error_of(too_many) == ("BAD_USER_INPUT", "first must be between 0 and 200")


def test_products_filter_and_order(catalog: Catalog) -> None:
    def run(user: str = "acme-viewer", **variables: object) -> dict:
        return catalog.ok(PAGE, {"first": 50, **variables}, user=user)["products"]

    batteries = run(filter={"categoryId": category_id("batteries")})
    assert batteries["totalCount"] == 12
    assert {n["name"].rsplit(" ", 1)[0] for n in batteries["nodes"]} == {"Cell Pack"}

    featured = run(filter={"isFeatured": True})
    assert [n["name"] for n in featured["nodes"]] == ["Cell Pack 01", "Cell Pack 02", "Controller 01", "Rack 01"]

    disabled = run(user="greenloop-admin", filter={"isEnabled": False})
    assert [n["name"] for n in disabled["nodes"]] == ["Lounge Chair 12"]
    assert run(user="greenloop-admin", filter={"isEnabled": True})["totalCount"] == 23

    # Search is case-insensitive over name, sku and description, on both backends.
    assert [n["name"] for n in run(filter={"search": "PACK 1"})["nodes"]] == [
        "Cell Pack 10",
        "Cell Pack 11",
        "Cell Pack 12",
    ]
    assert run(filter={"search": "acm-elc"})["totalCount"] == 12
    assert run(filter={"search": "%"})["totalCount"] == 0  # wildcards are literal
    assert run(filter={"search": "lounge"})["totalCount"] == 0  # another tenant's products
    combined = run(filter={"search": "01", "isFeatured": True, "categoryId": category_id("furniture")})
    assert [n["name"] for n in combined["nodes"]] == ["Rack 01"]

    newest = run(first=3, orderBy={"field": "CREATED_AT", "direction": "DESC"})
    assert [n["name"] for n in newest["nodes"]] == ["Rack 12", "Controller 12", "Cell Pack 12"]
    oldest = run(first=3, orderBy={"field": "UPDATED_AT"})
    assert [n["name"] for n in oldest["nodes"]] == ["Cell Pack 01", "Controller 01", "Rack 01"]
    by_name_desc = run(first=2, orderBy={"field": "NAME", "direction": "DESC"})
    assert [n["name"] for n in by_name_desc["nodes"]] == ["Rack 12", "Rack 11"]


def test_a_product_of_another_tenant_is_not_found(catalog: Catalog) -> None:
    query = "query($id: ID!) { product(id: $id) { id name sku isFeatured version metadata category { name } } }"
    own = catalog.ok(query, {"id": product_id("acme", 0)}, user="acme-viewer")
    assert own["product"] == {
        "id": product_id("acme", 0),
        "name": "Cell Pack 01",
        "sku": "ACM-BAT-0000",
        "isFeatured": True,
        "version": 1,
        "metadata": {"line": "Cell Pack", "demo": True},
        "category": {"name": "Batteries"},
    }
    other = product_id("greenloop", 0)
    body = catalog.query(query, {"id": other}, user="acme-viewer")
    assert body["data"] == {"product": None}
    assert error_of(body) == ("NOT_FOUND", f"Product '{other}' not found")


def test_anonymous_entities_resolve_no_product_and_every_category(catalog: Catalog) -> None:
    # No product is public (Product is @authenticated): a public passport's reader gets its PUBLIC fields
    # from the passport subgraph, not the product from the catalog.
    reps = [
        {"__typename": "Product", "id": product_id("acme", 0)},
        {"__typename": "Product", "id": product_id("greenloop", 0)},
        {"__typename": "Product", "id": product_id("greenloop", 23)},  # disabled
        {"__typename": "Product", "id": "01NOSUCHPRODUCT0000000000"},
        {"__typename": "Category", "id": category_id("batteries")},
    ]
    data = catalog.ok(ENTITIES, {"representations": reps})["_entities"]
    assert data == [
        None,
        None,
        None,
        None,
        {"id": category_id("batteries"), "name": "Batteries", "parent": {"name": "Electronics"}},
    ]


def test_signed_in_entities_stay_within_the_tenant(catalog: Catalog) -> None:
    reps = [
        {"__typename": "Product", "id": product_id("acme", 1)},
        {"__typename": "Product", "id": product_id("greenloop", 0)},
    ]
    data = catalog.ok(ENTITIES, {"representations": reps}, user="acme-viewer")["_entities"]
    assert data[0]["name"] == "Controller 01"
    assert data[0]["description"] == "Controller 01 (ACM-ELC-0001)"
    assert data[0]["metadata"] == {"line": "Controller", "demo": True}
    assert data[1] is None

    disabled = [{"__typename": "Product", "id": product_id("greenloop", 23)}]
    own = catalog.ok(ENTITIES, {"representations": disabled}, user="greenloop-admin")["_entities"]
    assert own[0]["name"] == "Lounge Chair 12" and own[0]["isEnabled"] is False
