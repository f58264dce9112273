"""Two variants served by one gateway: ``/graphql`` (the whole supergraph) and ``/partner/graphql``
(schema/partner.graphql, the contract ``make schema`` writes), in front of the real identity issuer
and the catalog, templates and passport subgraphs on SQLite.

The partner variant answers its own fields, refuses what the contract hides with
GRAPHQL_VALIDATION_FAILED (the same operation runs on /graphql), introspects differently, lets
only authenticated callers introspect or download its SDL (production defaults), and is
hot-reloaded when its file changes.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import print_schema

from gateway.composition.api_schema import api_schema_from_supergraph
from gateway.serve import build_app, build_server
from gateway.settings import Settings
from tests.support.fixtures import identity_issuers
from tests.support.identity import IdentityIssuer, IdentityIssuers
from tests.support.servers import ServerThread
from tests.support.subgraphs import running_subgraph
from tokenauth import IssuerConfig

__all__ = ["identity_issuers"]

ROOT = Path(__file__).resolve().parents[2]
TYPES = "{ __schema { types { name } } }"


@dataclass
class Variants:
    url: str
    issuer: IdentityIssuer
    partner_file: Path

    def post(self, path: str, query: str, *, user: str | None = None) -> httpx.Response:
        headers = {"accept": "application/json"}
        if user is not None:
            headers["authorization"] = f"Bearer {self.issuer.token_for(user)}"
        return httpx.post(self.url + path, json={"query": query}, headers=headers, timeout=30)

    def get(self, path: str, *, user: str | None = None) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.issuer.token_for(user)}"} if user else {}
        return httpx.get(self.url + path, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def variants(identity_issuers: IdentityIssuers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Variants]:
    root = tmp_path_factory.mktemp("variants")
    issuer = identity_issuers.get("sqlite", lambda: f"sqlite+aiosqlite:///{(root / 'identity.db').as_posix()}")
    partner = root / "partner.graphql"
    shutil.copyfile(ROOT / "schema" / "partner.graphql", partner)
    with ExitStack() as stack:
        urls = {
            name: stack.enter_context(
                running_subgraph(name, f"sqlite+aiosqlite:///{(root / f'{name}.db').as_posix()}", **issuer.overrides())
            ).url + "/graphql"
            for name in ("catalog", "templates", "passport")
        }
        settings = Settings.from_mapping({
            "supergraph": ROOT / "schema" / "supergraph.graphql",
            "poll_interval": 0.1,
            "log_level": "warning",
            "subgraph_urls": {"identity": issuer.url, **urls},
            "auth_issuers": [IssuerConfig(issuer.base_url, audiences=("dpp",))],
            "auth_context_url": issuer.base_url + "/auth/context",
            "auth_jwks_min_refresh_interval": 0,
            "retry_attempts": 0,
            "variants": {"partner": {"path": "/partner/graphql", "supergraph": str(partner)}},
        })
        app = build_app(settings)
        server = stack.enter_context(ServerThread(app, build_server(settings, app)))
        yield Variants(server.url, issuer, partner)


def _codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


def _type_names(body: dict[str, Any]) -> set[str]:
    assert "errors" not in body, body
    return {t["name"] for t in body["data"]["__schema"]["types"]}


def test_a_partner_query_runs_on_the_partner_path(variants: Variants) -> None:
    body = variants.post("/partner/graphql", "{ categories { id name } }").json()
    assert "errors" not in body, body
    assert body["data"]["categories"]
    # a join across subgraphs (catalog -> templates, catalog -> passport) through the contract
    query = "{ products(first: 3) { totalCount nodes { name category { name templates { name } } passportCount } } }"
    body = variants.post("/partner/graphql", query, user="acme-viewer").json()
    assert "errors" not in body, body
    nodes = body["data"]["products"]["nodes"]
    assert nodes and all(n["category"]["name"] for n in nodes)
    assert body == variants.post("/graphql", query, user="acme-viewer").json()


@pytest.mark.parametrize("query", [
    "{ products(first: 1) { nodes { name tenant { id } } } }",
    "{ catalogAuditLog(first: 1) { totalCount } }",
    "{ me { email } }",
])
def test_what_the_contract_hides_is_refused_there_and_served_on_graphql(variants: Variants, query: str) -> None:
    refused = variants.post("/partner/graphql", query, user="acme-admin")
    assert refused.status_code == 200
    body = refused.json()
    assert "data" not in body and _codes(body) == ["GRAPHQL_VALIDATION_FAILED"], body
    served = variants.post("/graphql", query, user="acme-admin").json()
    assert "GRAPHQL_VALIDATION_FAILED" not in _codes(served), served
    assert served.get("data"), served


def test_introspection_differs_and_needs_a_token_on_the_partner_variant(variants: Variants) -> None:
    main = _type_names(variants.post("/graphql", TYPES).json())  # introspection: on (the default of /graphql)
    anonymous = variants.post("/partner/graphql", TYPES).json()
    assert _codes(anonymous) == ["INTROSPECTION_DISABLED"] and "data" not in anonymous
    partner = _type_names(variants.post("/partner/graphql", TYPES, user="acme-viewer").json())
    assert {"Tenant", "User", "CatalogAuditEntry", "Mutation"} <= main
    assert not {"Tenant", "User", "CatalogAuditEntry", "Mutation"} & partner
    assert partner < main
    # __typename alone is no introspection: anonymous callers keep it
    assert variants.post("/partner/graphql", "{ __typename }").json() == {"data": {"__typename": "Query"}}


def test_the_sdl_of_each_variant_is_downloadable_under_its_policy(variants: Variants) -> None:
    anonymous = variants.get("/partner/graphql/schema.graphql")
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
    partner = variants.get("/partner/graphql/schema.graphql", user="acme-viewer")
    assert partner.status_code == 200 and partner.headers["content-type"].startswith("text/plain")
    expected = api_schema_from_supergraph(variants.partner_file.read_text(encoding="utf-8"))
    assert partner.text == print_schema(expected) + "\n"
    main = variants.get("/graphql/schema.graphql")
    assert main.status_code == 200 and "type Tenant" in main.text and "type Tenant" not in partner.text


def test_a_changed_contract_file_is_hot_reloaded(variants: Variants) -> None:
    original = variants.partner_file.read_text(encoding="utf-8")
    assert _codes(variants.post("/partner/graphql", "{ me { email } }", user="acme-admin").json()) == [
        "GRAPHQL_VALIDATION_FAILED"
    ]
    try:
        # serve the whole supergraph as "partner": me becomes valid there after the next poll
        variants.partner_file.write_text((ROOT / "schema" / "supergraph.graphql").read_text(encoding="utf-8"))
        deadline = time.monotonic() + 15
        while True:
            body = variants.post("/partner/graphql", "{ me { email } }", user="acme-admin").json()
            if "GRAPHQL_VALIDATION_FAILED" not in _codes(body) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert body.get("data", {}).get("me", {}).get("email"), body
    finally:
        variants.partner_file.write_text(original)
    deadline = time.monotonic() + 15
    while _codes(variants.post("/partner/graphql", "{ me { email } }", user="acme-admin").json()) != [
        "GRAPHQL_VALIDATION_FAILED"
    ]:
        assert time.monotonic() < deadline, "the restored contract was not reloaded"
        time.sleep(0.1)
