"""The request id a client may choose fits the audit trail, through the gateway and at the subgraph.

The gateway accepts an ``x-request-id`` of up to 128 safe characters and forwards it;
the subgraph stores it as the mutation's audit ``correlation_id``. The longest accepted
id must not make the mutation fail (PostgreSQL enforces the column's length), and a
subgraph called directly with a longer or unsafe id uses an id of its own instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col

from gateway.settings import Settings
from subgraphs.catalog.models import AuditEntry
from subgraphs.common.db import Database
from tests.gateway_http.auth_stack import SUPERGRAPH, serving_gateway
from tests.subgraphs.catalog.conftest import Catalog, category_id
from tests.support.identity import IdentityIssuer
from tests.support.subgraphs import running_subgraph
from tokenauth import IssuerConfig

CREATE = "mutation($input: ProductInput!) { createProduct(input: $input) { id name } }"
LONGEST = "R" * 99 + "-0123456789._:abcdefghijklmno"  # 128 characters, every kind the gateway accepts


def _stored_ids(database_url: str) -> list[str | None]:
    async def read() -> list[str | None]:
        database = Database(database_url)
        try:
            async with database.system_session() as session:
                stmt = sa.select(col(AuditEntry.correlation_id)).where(col(AuditEntry.action) == "createProduct")
                return list((await session.exec(stmt)).scalars().all())  # type: ignore[call-overload]
        finally:
            await database.dispose()

    return asyncio.run(read())


@pytest.fixture
def catalog_with_url(database_url_factory, issuer: IdentityIssuer) -> Iterator[tuple[Catalog, str]]:
    url = database_url_factory("catalog")
    with running_subgraph("catalog", url, **issuer.overrides()) as server:
        yield Catalog(server.url, issuer), url


def test_the_longest_accepted_request_id_is_audited_end_to_end(catalog_with_url: tuple[Catalog, str]) -> None:
    catalog, database_url = catalog_with_url
    assert len(LONGEST) == 128
    settings = Settings.from_mapping(
        {
            "supergraph": SUPERGRAPH,
            "poll_interval": 0,
            "log_level": "warning",
            "subgraph_urls": {"identity": catalog.issuer.url, "catalog": catalog.url},
            "auth_issuers": [IssuerConfig(catalog.issuer.base_url, audiences=("dpp",))],
            "auth_context_url": catalog.issuer.base_url + "/auth/context",
            "auth_jwks_min_refresh_interval": 0,
        }
    )
    product = {"name": "Long Id Pack", "sku": "LONG-1", "categoryId": category_id("batteries")}
    with serving_gateway(settings) as gateway:
        response = gateway.post(
            CREATE, {"input": product}, token=catalog.issuer.token_for("acme-manager"), **{"x-request-id": LONGEST}
        )
    body = response.json()
    assert "errors" not in body, body
    assert _stored_ids(database_url) == [LONGEST]


def test_a_subgraph_replaces_a_request_id_it_cannot_store(catalog_with_url: tuple[Catalog, str]) -> None:
    catalog, database_url = catalog_with_url
    token = catalog.issuer.token_for("acme-manager")
    for index, request_id in enumerate(("x" * 129, "evil\tid", "x" * 5000)):
        product = {"name": f"Odd Id {index}", "sku": f"ODD-{index}", "categoryId": category_id("batteries")}
        response = httpx.post(
            catalog.url,
            json={"query": CREATE, "variables": {"input": product}},
            headers={"authorization": f"Bearer {token}", "x-request-id": request_id},
            timeout=30,
        )
        assert "errors" not in response.json(), response.json()
    stored = _stored_ids(database_url)
    assert len(stored) == 3
    assert all(value and len(value) <= 128 and value.isalnum() for value in stored), stored
