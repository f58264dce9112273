"""Template rules under real parallel requests, on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from subgraphs.common import demo
from tests.subgraphs.templates.conftest import TemplatesServer
from tests.support.client import gql

PRODUCT = demo.template("product-dpp")
CREATE = "mutation($i: CreateTemplateInput!) { createTemplate(input: $i) { id } }"
REVISE = "mutation($id: ID!) { reviseTemplate(id: $id) { id version } }"
NAMED = "query { templates(first: 100) { nodes { name version } } }"


def _parallel(server: TemplatesServer, calls: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    token = server.issuer.token_for("root")
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(gql, server.url, query, variables, token=token) for query, variables in calls]
        return [future.result() for future in futures]


def _codes(bodies: list[dict[str, Any]]) -> list[str]:
    return ["OK" if not body.get("errors") else body["errors"][0]["extensions"]["code"] for body in bodies]


def test_parallel_creates_of_one_name_make_one_template(templates: TemplatesServer) -> None:
    fields = [f.id_for(PRODUCT.key) for f in PRODUCT.fields[:2]]
    spec = {"name": "Racing Template", "categoryId": PRODUCT.category_id, "fieldIds": fields}
    bodies = _parallel(templates, [(CREATE, {"i": spec})] * 12)
    assert sorted(_codes(bodies)) == ["CONFLICT"] * 11 + ["OK"], bodies
    names = [n["name"] for n in templates.data(NAMED, as_user="root")["templates"]["nodes"]]
    assert names.count("Racing Template") == 1


def test_parallel_revisions_make_one_draft(templates: TemplatesServer) -> None:
    published = PRODUCT.id  # the seeded, published product template
    bodies = _parallel(templates, [(REVISE, {"id": published})] * 10)
    assert sorted(_codes(bodies)) == ["CONFLICT"] * 9 + ["OK"], bodies
