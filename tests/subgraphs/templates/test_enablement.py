"""Per-tenant enablement of templates: tenant Admins enable and disable; tenants never see each other's."""

from __future__ import annotations

from subgraphs.common import demo
from tests.subgraphs.templates.conftest import TemplatesServer, error_of

PRODUCT = demo.template("product-dpp")
SUPPLY = demo.template("supply-chain-dpp")
ENABLE = "mutation($id: ID!) { enableTemplate(templateId: $id) { id name enabledForMyTenant } }"
DISABLE = "mutation($id: ID!) { disableTemplate(templateId: $id) { id name enabledForMyTenant } }"
ENABLED = "{ templates(enabledOnly: true) { nodes { name } } }"


def enabled_names(server: TemplatesServer, user: str) -> list[str]:
    return [n["name"] for n in server.data(ENABLED, as_user=user)["templates"]["nodes"]]


def test_tenant_admin_enables_and_disables_for_their_tenant_only(templates: TemplatesServer) -> None:
    assert enabled_names(templates, "greenloop-admin") == ["Supply Chain DPP"]
    enabled = templates.data(ENABLE, {"id": PRODUCT.id}, as_user="greenloop-admin")["enableTemplate"]
    assert enabled == {"id": PRODUCT.id, "name": "Product DPP", "enabledForMyTenant": True}
    assert enabled_names(templates, "greenloop-admin") == ["Product DPP", "Supply Chain DPP"]
    # Enabling twice is harmless.
    assert templates.data(ENABLE, {"id": PRODUCT.id}, as_user="greenloop-admin")["enableTemplate"]["enabledForMyTenant"]

    disabled = templates.data(DISABLE, {"id": SUPPLY.id}, as_user="acme-admin")["disableTemplate"]
    assert disabled == {"id": SUPPLY.id, "name": "Supply Chain DPP", "enabledForMyTenant": False}
    assert enabled_names(templates, "acme-viewer") == ["Product DPP"]
    # GreenLoop's enablement of the same template is untouched.
    assert enabled_names(templates, "greenloop-admin") == ["Product DPP", "Supply Chain DPP"]
    assert (
        templates.data(DISABLE, {"id": SUPPLY.id}, as_user="acme-admin")["disableTemplate"]["enabledForMyTenant"]
        is False
    )


def test_enablement_covers_every_version_of_a_lineage(templates: TemplatesServer) -> None:
    v2 = templates.data("mutation($id: ID!) { reviseTemplate(id: $id) { id } }", {"id": SUPPLY.id}, as_user="root")[
        "reviseTemplate"
    ]
    templates.data("mutation($id: ID!) { publishTemplate(id: $id) { id } }", {"id": v2["id"]}, as_user="root")
    names = templates.data(
        "{ templates(enabledOnly: true) { nodes { name version enabledForMyTenant } } }", as_user="greenloop-admin"
    )["templates"]["nodes"]
    assert names == [
        {"name": "Supply Chain DPP", "version": 1, "enabledForMyTenant": True},
        {"name": "Supply Chain DPP", "version": 2, "enabledForMyTenant": True},
    ]


def test_enablement_needs_a_tenant_admin_and_a_published_template(templates: TemplatesServer) -> None:
    code, message, _ = error_of(templates.query(ENABLE, {"id": PRODUCT.id}, as_user="acme-manager"))
    assert (code, message) == ("FORBIDDEN", "This needs the Admin role in the active tenant")
    code, message, _ = error_of(templates.query(DISABLE, {"id": PRODUCT.id}))
    assert (code, message) == ("UNAUTHENTICATED", "Sign in to do this")
    code, message, _ = error_of(templates.query(ENABLE, {"id": "01KDVDNA00AAAAAAAAAAAAAAAA"}, as_user="acme-admin"))
    assert (code, message) == ("NOT_FOUND", "template '01KDVDNA00AAAAAAAAAAAAAAAA' not found")

    templates.data("mutation($id: ID!) { deprecateTemplate(id: $id) { id } }", {"id": PRODUCT.id}, as_user="root")
    code, message, extensions = error_of(templates.query(ENABLE, {"id": PRODUCT.id}, as_user="greenloop-admin"))
    assert (code, message, extensions["status"]) == (
        "CONFLICT",
        "template 'Product DPP' version 1 is DEPRECATED; only a PUBLISHED template can be enabled",
        "DEPRECATED",
    )
    # A draft is invisible to a tenant Admin, so it reads as not found.
    draft = templates.data("mutation($id: ID!) { reviseTemplate(id: $id) { id } }", {"id": SUPPLY.id}, as_user="root")[
        "reviseTemplate"
    ]
    code, message, _ = error_of(templates.query(ENABLE, {"id": draft["id"]}, as_user="greenloop-admin"))
    assert (code, message) == ("NOT_FOUND", f"template {draft['id']!r} not found")
    assert enabled_names(templates, "greenloop-admin") == ["Supply Chain DPP"]
