"""Reading templates: seeded data, visibility, federation entities, Category.templates, enablement flags."""

from __future__ import annotations

from subgraphs.common import demo
from tests.subgraphs.templates.conftest import TemplatesServer, error_of

PRODUCT = demo.template("product-dpp")
SUPPLY = demo.template("supply-chain-dpp")
FIELD_SELECTION = "id key label type unit required min max pattern enumValues access position"

# Exactly what the passport subgraph asks for when it snapshots a template version.
PASSPORT_SNAPSHOT = (
    "query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Template "
    "{ id status version category { id } fields { " + FIELD_SELECTION + " } } } }"
)


def expected_field(template: demo.DemoTemplate, field: demo.DemoField, position: int) -> dict:
    return {
        "id": field.id_for(template.key),
        "key": field.key,
        "label": field.label,
        "type": field.type,
        "unit": field.unit,
        "required": field.required,
        "min": field.min,
        "max": field.max,
        "pattern": field.pattern,
        "enumValues": list(field.enum_values) if field.type == "ENUM" else None,
        "access": field.access,
        "position": position,
    }


def expected_snapshot(template: demo.DemoTemplate) -> dict:
    return {
        "id": template.id,
        "status": "PUBLISHED",
        "version": 1,
        "category": {"id": template.category_id},
        "fields": [expected_field(template, f, i) for i, f in enumerate(template.fields, start=1)],
    }


def test_seeded_templates_are_published_version_1_with_ordered_fields(templates: TemplatesServer) -> None:
    data = templates.data(
        "{ templates { totalCount nodes { id lineageId name description version status publishedAt "
        "category { id } fields { " + FIELD_SELECTION + " } } } }"
    )
    assert data["templates"]["totalCount"] == 2
    nodes = data["templates"]["nodes"]
    assert [n["name"] for n in nodes] == ["Product DPP", "Supply Chain DPP"]
    for node, template in zip(nodes, (PRODUCT, SUPPLY), strict=True):
        assert node["id"] == template.id
        assert node["lineageId"] == template.id
        assert node["description"] == template.description
        assert node["version"] == 1
        assert node["status"] == "PUBLISHED"
        assert node["publishedAt"] == "2026-01-01T00:00:00+00:00"
        assert node["category"] == {"id": template.category_id}
        assert node["fields"] == expected_snapshot(template)["fields"]
    capacity = nodes[0]["fields"][3]
    assert capacity["key"] == "capacity_kwh"
    assert (capacity["unit"], capacity["min"], capacity["max"]) == ("kWh", 0.0, 2000.0)


def test_passport_snapshot_through_entities_works_anonymously_and_with_a_token(templates: TemplatesServer) -> None:
    reps = [
        {"__typename": "Template", "id": SUPPLY.id},
        {"__typename": "Template", "id": "01KDVDNA00AAAAAAAAAAAAAAAA"},
        {"__typename": "Template", "id": PRODUCT.id},
    ]
    expected = {"_entities": [expected_snapshot(SUPPLY), None, expected_snapshot(PRODUCT)]}
    assert templates.data(PASSPORT_SNAPSHOT, {"reps": reps}) == expected
    assert templates.data(PASSPORT_SNAPSHOT, {"reps": reps}, as_user="acme-manager") == expected


def test_template_field_and_category_entities(templates: TemplatesServer) -> None:
    chemistry = PRODUCT.fields[2]
    data = templates.data(
        "query($reps: [_Any!]!) { _entities(representations: $reps) { __typename "
        "... on TemplateField { id key enumValues position } ... on Category { id templates { name } } } }",
        {
            "reps": [
                {"__typename": "TemplateField", "id": chemistry.id_for(PRODUCT.key)},
                {"__typename": "TemplateField", "id": "nope"},
                {"__typename": "Category", "id": PRODUCT.category_id},
                {"__typename": "Category", "id": demo.CATEGORIES[0].id},
            ]
        },
    )
    assert data["_entities"] == [
        {
            "__typename": "TemplateField",
            "id": chemistry.id_for(PRODUCT.key),
            "key": "chemistry",
            "enumValues": ["LFP", "NMC", "NCA", "LTO"],
            "position": 0,
        },
        None,
        {"__typename": "Category", "id": PRODUCT.category_id, "templates": [{"name": "Product DPP"}]},
        {"__typename": "Category", "id": demo.CATEGORIES[0].id, "templates": []},
    ]


def test_service_sdl_declares_the_agreed_entities(templates: TemplatesServer) -> None:
    sdl = templates.data("{ _service { sdl } }")["_service"]["sdl"]
    assert 'type Template @key(fields: "id")' in sdl
    assert 'type TemplateField @key(fields: "id")' in sdl
    assert 'type Category @key(fields: "id")' in sdl
    assert "templates(status: TemplateStatus = null): [Template!]\n" in sdl  # nullable: null when templates is down


def test_enabled_for_my_tenant_follows_the_callers_tenant(templates: TemplatesServer) -> None:
    query = "{ templates { nodes { name enabledForMyTenant } } }"
    assert templates.data(query)["templates"]["nodes"] == [
        {"name": "Product DPP", "enabledForMyTenant": False},
        {"name": "Supply Chain DPP", "enabledForMyTenant": False},
    ]
    assert templates.data(query, as_user="acme-viewer")["templates"]["nodes"] == [
        {"name": "Product DPP", "enabledForMyTenant": True},
        {"name": "Supply Chain DPP", "enabledForMyTenant": True},
    ]
    assert templates.data(query, as_user="greenloop-admin")["templates"]["nodes"] == [
        {"name": "Product DPP", "enabledForMyTenant": False},
        {"name": "Supply Chain DPP", "enabledForMyTenant": True},
    ]
    enabled = "{ templates(enabledOnly: true) { totalCount nodes { name } } }"
    assert templates.data(enabled, as_user="greenloop-admin")["templates"] == {
        "totalCount": 1,
        "nodes": [{"name": "Supply Chain DPP"}],
    }
    code, message, _ = error_of(templates.query(enabled))
    assert (code, message) == ("UNAUTHENTICATED", "Sign in to do this")


def test_filters_and_single_reads(templates: TemplatesServer) -> None:
    by_category = templates.data(
        "query($c: ID!) { templates(categoryId: $c) { totalCount nodes { name } } }", {"c": SUPPLY.category_id}
    )
    assert by_category["templates"] == {"totalCount": 1, "nodes": [{"name": "Supply Chain DPP"}]}
    assert templates.data("{ templates(status: DRAFT) { totalCount } }")["templates"]["totalCount"] == 0
    page = templates.data("{ templates(first: 1) { totalCount pageInfo { hasNextPage } nodes { name } } }")
    assert page["templates"] == {"totalCount": 2, "pageInfo": {"hasNextPage": True}, "nodes": [{"name": "Product DPP"}]}
    one = templates.data("query($id: ID!) { template(id: $id) { name version } }", {"id": PRODUCT.id})
    assert one == {"template": {"name": "Product DPP", "version": 1}}
    code, message, extensions = error_of(templates.query('{ template(id: "missing") { id } }'))
    assert (code, message, extensions["id"]) == ("NOT_FOUND", "template 'missing' not found", "missing")
    library = templates.data('{ templateFields(key: "chemistry") { totalCount nodes { id label position } } }')
    assert library["templateFields"] == {
        "totalCount": 1,
        "nodes": [{"id": PRODUCT.fields[2].id_for(PRODUCT.key), "label": "Cell chemistry", "position": 0}],
    }
    total = templates.data("{ templateFields { totalCount } }")["templateFields"]["totalCount"]
    assert total == len(PRODUCT.fields) + len(SUPPLY.fields)
