"""Degrade, don't fail: a subgraph stopped mid-test costs only the fields it owns.

The gateway serves the committed supergraph in front of the real identity issuer
and the catalog, templates and passport subgraphs on the test's backend. With the
catalog stopped, the passports still come back, each with ``product: null`` and
an error whose path names that product; the public passport view does the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from gateway.settings import Settings
from subgraphs.common import demo
from tests.gateway_http.auth_stack import SUPERGRAPH, Served, serving_gateway
from tests.support.fixtures import identity_issuers, issuer
from tests.support.identity import IdentityIssuer
from tests.support.servers import ServerThread
from tests.support.subgraphs import running_subgraph
from tokenauth import IssuerConfig

__all__ = ["identity_issuers", "issuer"]

PASSPORTS = """
query { passports(first: 100) { totalCount nodes { id name status product { name sku } template { name } } } }
"""
PUBLIC = "query($uuid: String!) { publicPassport(uuid: $uuid) { name product { name } template { name } } }"


@dataclass
class Federation:
    """The gateway and the subgraph servers behind it (by name)."""

    gateway: Served
    servers: dict[str, ServerThread]
    issuer: IdentityIssuer

    def query(self, query: str, variables: dict[str, Any] | None = None, *, user: str | None = None) -> dict[str, Any]:
        token = self.issuer.token_for(user) if user else None
        response = self.gateway.post(query, variables, token=token)
        return response.json()


@pytest.fixture
def federation(database_url_factory, issuer: IdentityIssuer) -> Iterator[Federation]:
    with ExitStack() as stack:
        servers = {
            name: stack.enter_context(running_subgraph(name, database_url_factory(name), **issuer.overrides()))
            for name in ("catalog", "templates", "passport")
        }
        urls = {name: server.url + "/graphql" for name, server in servers.items()}
        settings = Settings.from_mapping(
            {
                "supergraph": SUPERGRAPH,
                "poll_interval": 0,
                "log_level": "warning",
                "subgraph_urls": {"identity": issuer.url, **urls},
                "auth_issuers": [IssuerConfig(issuer.base_url, audiences=("dpp",))],
                "auth_context_url": issuer.base_url + "/auth/context",
                "auth_jwks_min_refresh_interval": 0,
                "retry_attempts": 0,
            }
        )
        gateway = stack.enter_context(serving_gateway(settings))
        yield Federation(gateway, servers, issuer)


def _code(error: dict[str, Any]) -> str | None:
    return (error.get("extensions") or {}).get("code")


def test_a_stopped_catalog_leaves_passports_with_product_null(federation: Federation) -> None:
    before = federation.query(PASSPORTS, user="acme-admin")
    assert "errors" not in before, before
    nodes = before["data"]["passports"]["nodes"]
    assert nodes and all(node["product"] is not None for node in nodes)

    federation.servers["catalog"].stop()  # the catalog goes away mid-test
    after = federation.query(PASSPORTS, user="acme-admin")
    assert after["data"] is not None, after
    degraded = after["data"]["passports"]["nodes"]
    assert [(n["id"], n["name"], n["template"]) for n in degraded] == [
        (n["id"], n["name"], n["template"]) for n in nodes
    ]
    assert all(node["product"] is None for node in degraded)
    errors = after["errors"]
    assert errors and all(_code(error) for error in errors), errors
    paths = {tuple(error["path"]) for error in errors if error.get("path")}
    assert paths, errors
    for path in paths:
        assert path[:2] == ("passports", "nodes") and "product" in path, errors


def test_a_stopped_templates_subgraph_leaves_the_public_passport_with_template_null(federation: Federation) -> None:
    # The public product is stored with the published version (passport_0004): the catalog is not asked, so
    # the subgraph the QR page still depends on is templates.
    uuid = next(p.public_uuid for p in demo.PASSPORTS if p.status == "PUBLISHED")
    before = federation.query(PUBLIC, {"uuid": uuid}, user="acme-viewer")
    assert before["data"]["publicPassport"]["template"] is not None, before
    federation.servers["catalog"].stop()
    assert federation.query(PUBLIC, {"uuid": uuid}, user="acme-viewer") == before
    federation.servers["templates"].stop()
    after = federation.query(PUBLIC, {"uuid": uuid}, user="acme-viewer")
    public = after["data"]["publicPassport"]
    assert public is not None and public["name"] and public["template"] is None, after
    assert public["product"] == before["data"]["publicPassport"]["product"], after
    assert all(_code(error) for error in after["errors"]), after
