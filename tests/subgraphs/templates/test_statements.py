"""No N+1: lists and entity batches with nested relations cost a constant number of SQL statements."""

from __future__ import annotations

from subgraphs.common import demo
from tests.subgraphs.templates.conftest import TemplatesServer
from tests.support.postgres import rls_statements

PRODUCT = demo.template("product-dpp")
SUPPLY = demo.template("supply-chain-dpp")

LIST = (
    "query($n: Int!) { templates(first: $n) { totalCount nodes { id name enabledForMyTenant "
    "fields { id key position } category { id templates { id name } } versions { id } } } }"
)
ENTITIES = (
    "query($r: [_Any!]!) { _entities(representations: $r) { ... on Template { id status version "
    "category { id } fields { id key label type unit required min max pattern enumValues access position } } } }"
)


def add_templates(server: TemplatesServer, count: int) -> list[str]:
    """``count`` more published templates, alternating between the seeded categories."""
    by_key = {f.key: f.id_for(PRODUCT.key) for f in PRODUCT.fields}
    ids = []
    for i in range(count):
        template = (PRODUCT, SUPPLY)[i % 2]
        field_ids = [f.id_for(template.key) for f in template.fields[: 2 + i % 3]]
        if template is PRODUCT:
            field_ids = [by_key["manufacturer_name"], by_key["chemistry"]]
        created = server.data(
            "mutation($i: CreateTemplateInput!) { createTemplate(input: $i) { id } }",
            {"i": {"name": f"Extra {i:02d}", "categoryId": template.category_id, "fieldIds": field_ids}},
            as_user="root",
        )["createTemplate"]
        server.data("mutation($id: ID!) { publishTemplate(id: $id) { id } }", {"id": created["id"]}, as_user="root")
        ids.append(created["id"])
    return ids


def cost(server: TemplatesServer, query: str, variables: dict, user: str | None) -> tuple[int, dict]:
    before = server.statements()
    data = server.data(query, variables, as_user=user)
    return server.statements() - before, data


def test_listing_one_or_all_templates_with_relations_costs_the_same(templates: TemplatesServer, backend: str) -> None:
    add_templates(templates, 10)
    for user in (None, "acme-admin"):
        one, small = cost(templates, LIST, {"n": 1}, user)
        all_, large = cost(templates, LIST, {"n": 50}, user)
        assert len(small["templates"]["nodes"]) == 1
        assert len(large["templates"]["nodes"]) == 12
        assert sum(len(n["category"]["templates"]) for n in large["templates"]["nodes"]) == 12 * 6
        # count, page, fields, category templates, versions (+ enablements when signed in), + the RLS tenant.
        assert one == all_ == (5 if user is None else 6) + rls_statements(backend), (user, one, all_)


def test_entities_for_n_templates_cost_the_same_as_for_one(templates: TemplatesServer, backend: str) -> None:
    ids = [PRODUCT.id, SUPPLY.id, *add_templates(templates, 8)]
    one, small = cost(templates, ENTITIES, {"r": [{"__typename": "Template", "id": ids[0]}]}, None)
    many, large = cost(templates, ENTITIES, {"r": [{"__typename": "Template", "id": i} for i in ids]}, None)
    assert [e["id"] for e in large["_entities"]] == ids
    assert len(large["_entities"][0]["fields"]) == len(PRODUCT.fields)
    assert small["_entities"] == large["_entities"][:1]
    # templates by id, then their fields, + the RLS tenant.
    assert one == many == 2 + rls_statements(backend)


def test_category_templates_with_fields_cost_the_same_for_one_or_all_categories(
    templates: TemplatesServer, backend: str
) -> None:
    add_templates(templates, 6)
    query = (
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on Category { id "
        "templates { name fields { key } } } } }"
    )
    categories = [{"__typename": "Category", "id": c.id} for c in demo.CATEGORIES]
    one, small = cost(templates, query, {"r": categories[1:2]}, None)
    all_, large = cost(templates, query, {"r": categories}, None)
    assert [len(e["templates"]) for e in large["_entities"]] == [0, 4, 4, 0, 0, 0]
    assert small["_entities"] == large["_entities"][1:2]
    assert large["_entities"][1]["templates"][-1] == {
        "name": "Product DPP",
        "fields": [{"key": f.key} for f in PRODUCT.fields],
    }
    # templates by category, then their fields, + the RLS tenant.
    assert one == all_ == 2 + rls_statements(backend)
