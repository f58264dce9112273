"""Authoring templates: the field library, drafts, publish/revise/deprecate, validation, permissions."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from subgraphs.common import demo
from subgraphs.common.db import Database
from subgraphs.templates.models import AuditEntry
from tests.subgraphs.templates.conftest import TemplatesServer, error_of

ROOT = "root"  # the platform administrator
PRODUCT = demo.template("product-dpp")
SUPPLY = demo.template("supply-chain-dpp")
BATTERIES = PRODUCT.category_id

CREATE_FIELD = "mutation($i: CreateTemplateFieldInput!) { createTemplateField(input: $i) { id key type position } }"
CREATE = (
    "mutation($i: CreateTemplateInput!) { createTemplate(input: $i) "
    "{ id lineageId name version status category { id } fields { id key position } } }"
)
UPDATE = (
    "mutation($id: ID!, $i: UpdateTemplateDraftInput!) { updateTemplateDraft(id: $id, input: $i) "
    "{ id lineageId name version status fields { key position } } }"
)
PUBLISH = "mutation($id: ID!) { publishTemplate(id: $id) { id version status publishedAt } }"
DEPRECATE = "mutation($id: ID!) { deprecateTemplate(id: $id) { id status deprecatedAt } }"
REVISE = "mutation($id: ID!) { reviseTemplate(id: $id) { id lineageId version status fields { key } } }"
FIELDS_OF = "query($id: ID!) { template(id: $id) { name status version fields { key position } } }"


def product_field_ids(*keys: str) -> list[str]:
    by_key = {f.key: f.id_for(PRODUCT.key) for f in PRODUCT.fields}
    return [by_key[k] for k in keys]


def new_field(server: TemplatesServer, key: str, **extra: object) -> str:
    data = server.data(CREATE_FIELD, {"i": {"key": key, "label": key.title(), "type": "STRING", **extra}}, as_user=ROOT)
    return data["createTemplateField"]["id"]


def new_template(server: TemplatesServer, name: str, field_ids: list[str]) -> dict:
    variables = {"i": {"name": name, "categoryId": BATTERIES, "fieldIds": field_ids, "description": "test"}}
    return server.data(CREATE, variables, as_user=ROOT)["createTemplate"]


def audit_rows(database_url: str) -> list[tuple[str, str, str | None, str | None]]:
    async def run() -> list[tuple[str, str, str | None, str | None]]:
        database = Database(database_url)
        try:
            async with database.system_session() as session:
                rows = (await session.exec(select(AuditEntry).order_by(AuditEntry.created_at, AuditEntry.id))).all()
                return [(r.action, r.result, r.object_id, r.user_id) for r in rows]
        finally:
            await database.dispose()

    return asyncio.run(run())


def test_create_field_validates_by_type(templates: TemplatesServer) -> None:
    created = templates.data(
        CREATE_FIELD,
        {"i": {"key": "cycle_life", "label": "Cycle life", "type": "INTEGER", "unit": "cycles", "min": 0}},
        as_user=ROOT,
    )["createTemplateField"]
    assert (created["key"], created["type"], created["position"]) == ("cycle_life", "INTEGER", 0)
    cases = [
        ({"key": "CycleLife", "type": "STRING"}, "key 'CycleLife' must be snake_case"),
        ({"key": "double__underscore", "type": "STRING"}, "key 'double__underscore' must be snake_case"),
        ({"key": "ok", "type": "STRING", "unit": "kg"}, "field 'ok': a unit applies only to NUMBER and INTEGER fields"),
        ({"key": "ok", "type": "NUMBER", "min": 5, "max": 1}, "field 'ok': min 5 is greater than max 1"),
        (
            {"key": "ok", "type": "INTEGER", "max": 1.5},
            "field 'ok': max 1.5 must be a whole number for an INTEGER field",
        ),
        ({"key": "ok", "type": "BOOLEAN", "min": 0}, "field 'ok': min and max apply only to NUMBER and INTEGER fields"),
        ({"key": "ok", "type": "STRING", "pattern": "("}, "field 'ok': pattern '(' is not a valid regular expression"),
        ({"key": "ok", "type": "ENUM"}, "field 'ok': an ENUM field needs at least one non-empty enum value"),
        (
            {"key": "ok", "type": "ENUM", "enumValues": ["A", "B", "A"]},
            "field 'ok': enum values must be unique; repeated: A",
        ),
        ({"key": "ok", "type": "STRING", "enumValues": ["A"]}, "field 'ok': enum values apply only to ENUM fields"),
        ({"key": "ok", "type": "STRING", "label": "  "}, "label of field 'ok' must be 1 to 200 characters"),
    ]
    for fields, message in cases:
        body = templates.query(CREATE_FIELD, {"i": {"label": "Label", **fields}}, as_user=ROOT)
        code, actual, _ = error_of(body)
        assert code == "BAD_USER_INPUT", (fields, body)
        assert actual.startswith(message), (fields, actual)
    total = templates.data("{ templateFields { totalCount } }")["templateFields"]["totalCount"]
    assert total == len(PRODUCT.fields) + len(SUPPLY.fields) + 1


def test_unknown_field_ids_are_rejected_with_every_id_named(templates: TemplatesServer) -> None:
    known = product_field_ids("manufacturer_name")[0]
    body = templates.query(
        CREATE,
        {"i": {"name": "Broken", "categoryId": BATTERIES, "fieldIds": ["NOPE1", known, "NOPE2", "NOPE1"]}},
        as_user=ROOT,
    )
    code, message, extensions = error_of(body)
    assert code == "BAD_USER_INPUT"
    assert message == "unknown field ids: NOPE1, NOPE2"
    assert extensions["unknownFieldIds"] == ["NOPE1", "NOPE2"]
    assert body["data"] is None
    draft = new_template(templates, "Draft", [known])
    body = templates.query(UPDATE, {"id": draft["id"], "i": {"fieldIds": [known, "GHOST"]}}, as_user=ROOT)
    code, message, extensions = error_of(body)
    assert (code, message, extensions["unknownFieldIds"]) == ("BAD_USER_INPUT", "unknown field id: GHOST", ["GHOST"])
    # Nothing was written by the failed mutations.
    assert templates.data("{ templates(status: DRAFT) { totalCount } }", as_user=ROOT)["templates"]["totalCount"] == 1
    assert templates.data(FIELDS_OF, {"id": draft["id"]}, as_user=ROOT)["template"]["fields"] == [
        {"key": "manufacturer_name", "position": 1}
    ]


def test_duplicate_keys_and_ids_within_a_template_are_rejected(templates: TemplatesServer) -> None:
    (manufacturer,) = product_field_ids("manufacturer_name")
    other = new_field(templates, "manufacturer_name")
    body = templates.query(
        CREATE, {"i": {"name": "Dup", "categoryId": BATTERIES, "fieldIds": [manufacturer, other]}}, as_user=ROOT
    )
    code, message, extensions = error_of(body)
    assert code == "BAD_USER_INPUT"
    assert message == (
        "field keys must be unique within a template; used more than once: "
        f"'manufacturer_name' ({manufacturer}, {other})"
    )
    assert extensions["duplicateKeys"] == ["manufacturer_name"]
    body = templates.query(
        CREATE, {"i": {"name": "Dup", "categoryId": BATTERIES, "fieldIds": [other, other]}}, as_user=ROOT
    )
    code, message, extensions = error_of(body)
    assert (code, message, extensions["duplicateFieldIds"]) == (
        "BAD_USER_INPUT",
        f"fields listed more than once: {other}",
        [other],
    )


def test_template_lifecycle_publish_freezes_and_edits_start_a_new_version(templates: TemplatesServer) -> None:
    ids = product_field_ids("manufacturer_name", "model_number")
    draft = new_template(templates, "Battery Lite", ids)
    assert draft["version"] == 1 and draft["status"] == "DRAFT" and draft["lineageId"] == draft["id"]
    assert draft["category"] == {"id": BATTERIES}
    assert [f["position"] for f in draft["fields"]] == [1, 2]

    # A draft is edited in place: same id, same version.
    (chemistry,) = product_field_ids("chemistry")
    edited = templates.data(
        UPDATE, {"id": draft["id"], "i": {"name": "Battery Lite DPP", "fieldIds": [chemistry, *ids]}}, as_user=ROOT
    )["updateTemplateDraft"]
    assert (edited["id"], edited["version"], edited["name"]) == (draft["id"], 1, "Battery Lite DPP")
    assert [f["key"] for f in edited["fields"]] == ["chemistry", "manufacturer_name", "model_number"]

    published = templates.data(PUBLISH, {"id": draft["id"]}, as_user=ROOT)["publishTemplate"]
    assert (published["status"], published["version"]) == ("PUBLISHED", 1)
    assert published["publishedAt"] is not None

    code, message, extensions = error_of(templates.query(PUBLISH, {"id": draft["id"]}, as_user=ROOT))
    assert (code, message, extensions["status"]) == (
        "CONFLICT",
        "template 'Battery Lite DPP' version 1 is PUBLISHED; only a DRAFT can be published",
        "PUBLISHED",
    )

    # Editing the published version creates version 2 as a new draft; version 1 never changes.
    v2 = templates.data(UPDATE, {"id": draft["id"], "i": {"fieldIds": ids}}, as_user=ROOT)["updateTemplateDraft"]
    assert v2["id"] != draft["id"]
    assert (v2["lineageId"], v2["version"], v2["status"], v2["name"]) == (draft["id"], 2, "DRAFT", "Battery Lite DPP")
    assert [f["key"] for f in v2["fields"]] == ["manufacturer_name", "model_number"]
    v1 = templates.data(FIELDS_OF, {"id": draft["id"]}, as_user=ROOT)["template"]
    assert v1["status"] == "PUBLISHED" and [f["key"] for f in v1["fields"]] == [
        "chemistry",
        "manufacturer_name",
        "model_number",
    ]

    # One draft per lineage at a time.
    code, message, extensions = error_of(templates.query(REVISE, {"id": draft["id"]}, as_user=ROOT))
    assert code == "CONFLICT"
    assert message == (f"template 'Battery Lite DPP' already has a draft, version 2 (id {v2['id']}); edit that draft")
    assert extensions["draftId"] == v2["id"]

    templates.data(PUBLISH, {"id": v2["id"]}, as_user=ROOT)
    deprecated = templates.data(DEPRECATE, {"id": draft["id"]}, as_user=ROOT)["deprecateTemplate"]
    assert deprecated["status"] == "DEPRECATED" and deprecated["deprecatedAt"] is not None
    code, message, _ = error_of(templates.query(DEPRECATE, {"id": draft["id"]}, as_user=ROOT))
    assert (code, message) == (
        "CONFLICT",
        "template 'Battery Lite DPP' version 1 is DEPRECATED; only a PUBLISHED version can be deprecated",
    )
    code, message, _ = error_of(templates.query(UPDATE, {"id": draft["id"], "i": {"name": "X"}}, as_user=ROOT))
    assert code == "CONFLICT"
    assert message.startswith("template 'Battery Lite DPP' version 1 is DEPRECATED; only a DRAFT can be edited")

    v3 = templates.data(REVISE, {"id": v2["id"]}, as_user=ROOT)["reviseTemplate"]
    assert (v3["lineageId"], v3["version"], v3["status"]) == (draft["id"], 3, "DRAFT")
    assert [f["key"] for f in v3["fields"]] == ["manufacturer_name", "model_number"]

    versions = templates.data(
        "query($id: ID!) { template(id: $id) { versions { version status } } }", {"id": draft["id"]}, as_user=ROOT
    )["template"]["versions"]
    assert versions == [
        {"version": 1, "status": "DEPRECATED"},
        {"version": 2, "status": "PUBLISHED"},
        {"version": 3, "status": "DRAFT"},
    ]
    # Others see the lineage without its draft.
    public = templates.data("query($id: ID!) { template(id: $id) { versions { version } } }", {"id": draft["id"]})[
        "template"
    ]["versions"]
    assert public == [{"version": 1}, {"version": 2}]
    latest = templates.data(
        "query($l: ID!) { templates(lineageId: $l, latestOnly: true) { nodes { version } } }", {"l": draft["id"]}
    )
    assert latest["templates"]["nodes"] == [{"version": 2}]


def test_publishing_needs_fields_and_names_are_unique(templates: TemplatesServer) -> None:
    empty = new_template(templates, "Empty", [])
    code, message, _ = error_of(templates.query(PUBLISH, {"id": empty["id"]}, as_user=ROOT))
    assert (code, message) == ("CONFLICT", "template 'Empty' version 1 has no fields; add fields before publishing")
    body = templates.query(
        CREATE, {"i": {"name": "product dpp", "categoryId": BATTERIES, "fieldIds": []}}, as_user=ROOT
    )
    code, message, extensions = error_of(body)
    assert code == "CONFLICT"
    assert message == f"a template named 'Product DPP' already exists (lineage {PRODUCT.id}); choose another name"
    assert extensions["existingLineageId"] == PRODUCT.id
    code, message, _ = error_of(
        templates.query(CREATE, {"i": {"name": "X", "categoryId": "batteries", "fieldIds": []}}, as_user=ROOT)
    )
    assert (code, message) == ("BAD_USER_INPUT", "categoryId 'batteries' is not a category id")
    # A new version of a seeded template keeps its name (same lineage).
    v2 = templates.data(UPDATE, {"id": PRODUCT.id, "i": {"description": "v2"}}, as_user=ROOT)["updateTemplateDraft"]
    assert (v2["name"], v2["version"]) == ("Product DPP", 2)


@pytest.mark.parametrize(
    ("user", "code", "message"),
    [
        (None, "UNAUTHENTICATED", "Sign in to do this"),
        ("acme-admin", "FORBIDDEN", "Only platform administrators may do this"),
    ],
)
def test_only_platform_admins_author_templates(
    templates: TemplatesServer, user: str | None, code: str, message: str
) -> None:
    attempts = [
        (CREATE_FIELD, {"i": {"key": "x", "label": "X", "type": "STRING"}}),
        (CREATE, {"i": {"name": "X", "categoryId": BATTERIES, "fieldIds": []}}),
        (UPDATE, {"id": PRODUCT.id, "i": {"name": "Hijacked"}}),
        (REVISE, {"id": PRODUCT.id}),
        (PUBLISH, {"id": PRODUCT.id}),
        (DEPRECATE, {"id": PRODUCT.id}),
    ]
    for query, variables in attempts:
        assert error_of(templates.query(query, variables, as_user=user))[:2] == (code, message)
    assert templates.data(FIELDS_OF, {"id": PRODUCT.id})["template"]["status"] == "PUBLISHED"


def test_drafts_are_invisible_to_everyone_but_platform_admins(templates: TemplatesServer) -> None:
    draft = new_template(templates, "Secret Draft", product_field_ids("manufacturer_name"))
    for user in (None, "acme-admin"):
        code, message, _ = error_of(templates.query(FIELDS_OF, {"id": draft["id"]}, as_user=user))
        assert (code, message) == ("NOT_FOUND", f"template {draft['id']!r} not found")
        entities = templates.data(
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on Template { id } } }",
            {"r": [{"__typename": "Template", "id": draft["id"]}]},
            as_user=user,
        )
        assert entities == {"_entities": [None]}
        names = templates.data("{ templates { nodes { name } } }", as_user=user)["templates"]["nodes"]
        assert names == [{"name": "Product DPP"}, {"name": "Supply Chain DPP"}]
    drafts = templates.data(
        'query($c: ID!) { _entities(representations: [{__typename: "Category", id: $c}]) '
        "{ ... on Category { templates(status: DRAFT) { name } } } }",
        {"c": BATTERIES},
        as_user=ROOT,
    )
    assert drafts == {"_entities": [{"templates": [{"name": "Secret Draft"}]}]}


def test_every_mutation_is_audited_and_failures_leave_only_their_audit_entry(templates: TemplatesServer) -> None:
    root_id = next(u for u in demo.USERS if u.key == ROOT).id
    field_id = new_field(templates, "serial_number")
    draft = new_template(templates, "Audited", [field_id])
    templates.query(CREATE, {"i": {"name": "Bad", "categoryId": BATTERIES, "fieldIds": ["GHOST"]}}, as_user=ROOT)
    templates.query(PUBLISH, {"id": PRODUCT.id}, as_user="acme-admin")
    templates.data(PUBLISH, {"id": draft["id"]}, as_user=ROOT)
    assert audit_rows(templates.database_url) == [
        ("createTemplateField", "OK", field_id, root_id),
        ("createTemplate", "OK", draft["id"], root_id),
        ("createTemplate", "BAD_USER_INPUT", None, root_id),
        ("publishTemplate", "FORBIDDEN", PRODUCT.id, next(u for u in demo.USERS if u.key == "acme-admin").id),
        ("publishTemplate", "OK", draft["id"], root_id),
    ]
    log = templates.data(
        "query($id: ID!) { templateAuditLog(objectId: $id) { totalCount nodes { action result before after } } }",
        {"id": draft["id"]},
        as_user=ROOT,
    )["templateAuditLog"]
    assert log["totalCount"] == 2
    publish, create = log["nodes"]
    assert (publish["action"], publish["before"]["status"], publish["after"]["status"]) == (
        "publishTemplate",
        "DRAFT",
        "PUBLISHED",
    )
    assert (create["action"], create["before"], create["after"]["fieldIds"]) == ("createTemplate", None, [field_id])
    code, _, _ = error_of(templates.query("{ templateAuditLog { totalCount } }", as_user="acme-admin"))
    assert code == "FORBIDDEN"
    assert templates.data("{ templates(status: DRAFT) { totalCount } }", as_user=ROOT)["templates"]["totalCount"] == 0
