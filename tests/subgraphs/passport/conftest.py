"""Fixtures of the passport subgraph tests: real, migrated and seeded servers on both backends."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from subgraphs.common.db import Database
from subgraphs.passport.content import FieldDefinition
from subgraphs.passport.domain import PublicField, PublicView
from tests.support.client import gql, sql_statements
from tests.support.identity import IdentityIssuer
from tests.support.servers import free_port
from tests.support.subgraphs import running_subgraph


@dataclass(frozen=True)
class PassportServer:
    """A running passport subgraph and its database."""

    base: str
    database_url: str
    issuer: IdentityIssuer

    @property
    def url(self) -> str:
        """The GraphQL endpoint."""
        return self.base + "/graphql"

    def query(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        as_user: str | None = None,
        tenant: str | None = None,
    ) -> dict:
        """Run ``query`` as demo user ``as_user`` in ``tenant`` (anonymous when ``as_user`` is ``None``)."""
        token = self.issuer.token_for(as_user, tenant) if as_user else None
        return gql(self.url, query, variables, token=token)

    def data(self, query: str, variables: dict[str, Any] | None = None, **who: Any) -> dict:
        """``query``'s data, failing the test on any error."""
        body = self.query(query, variables, **who)
        assert "errors" not in body, body
        return body["data"]

    def statements(self) -> int:
        """``dpp_sql_statements_total`` of this server so far."""
        return sql_statements(self.base, "passport")

    def with_session(self, work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
        """Run ``work`` in an unrestricted session on the server's database (for setup and tampering)."""

        async def run() -> Any:
            database = Database(self.database_url)
            try:
                async with database.system_session() as session:
                    return await work(session)
            finally:
                await database.dispose()

        return asyncio.run(run())


def unreachable_url() -> str:
    """A loopback URL nothing listens on."""
    return f"http://127.0.0.1:{free_port()}/graphql"


@pytest.fixture
def passport(database_url_factory, issuer: IdentityIssuer) -> Iterator[PassportServer]:
    """The passport subgraph, seeded, on the current backend; its peers point at closed ports."""
    database_url = database_url_factory("passport")
    urls = {"catalog": unreachable_url(), "templates": unreachable_url()}
    with running_subgraph("passport", database_url, service_urls=urls, **issuer.overrides()) as server:
        yield PassportServer(server.url, database_url, issuer)


@dataclass(frozen=True)
class Stack:
    """The real catalog and templates subgraphs with a passport subgraph pointed at them."""

    passport: PassportServer
    catalog_url: str
    templates_url: str


@pytest.fixture
def stack(database_url_factory, issuer: IdentityIssuer) -> Iterator[Stack]:
    """Catalog, templates and passport, each seeded on its own database of the current backend."""
    catalog_db = database_url_factory("catalog")
    templates_db = database_url_factory("templates")
    passport_db = database_url_factory("passport")
    with (
        running_subgraph("catalog", catalog_db, **issuer.overrides()) as catalog,
        running_subgraph("templates", templates_db, **issuer.overrides()) as templates,
    ):
        urls = {"catalog": catalog.url + "/graphql", "templates": templates.url + "/graphql"}
        with running_subgraph("passport", passport_db, service_urls=urls, **issuer.overrides()) as server:
            yield Stack(PassportServer(server.url, passport_db, issuer), urls["catalog"], urls["templates"])


def error_of(body: dict) -> tuple[str, str, dict]:
    """``(code, message, extensions)`` of the only error of a response."""
    errors = body.get("errors") or []
    assert len(errors) == 1, body
    extensions = errors[0].get("extensions") or {}
    return extensions.get("code", ""), errors[0]["message"], extensions


def expected_hash(
    *,
    passport_id: str,
    uuid: str,
    name: str,
    product_id: str,
    template_id: str,
    version: int,
    values: dict[str, Any],
    previous_hash: str | None,
) -> str:
    """The SHA-256 the issue prescribes, computed here independently of the subgraph's code.

    Numbers are written as RFC 8785 (JCS) does: an integral value has no fraction (50.0 -> 50).
    """
    values = {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in values.items()}
    document = {
        "passportId": passport_id,
        "uuid": uuid,
        "name": name,
        "productId": product_id,
        "templateId": template_id,
        "version": version,
        "values": values,
        "previousHash": previous_hash,
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def made_up_view(uuid: str = "u-1", status: str = "PUBLISHED") -> PublicView:
    """A public view with one PUBLIC field, for tests of the public-view cache that need no database."""
    weight = FieldDefinition(id="f1", key="weight", label="Weight", type="NUMBER", access="PUBLIC", position=1)
    return PublicView(
        uuid=uuid,
        name=f"PACK_{uuid}",
        status=status,
        version=1,
        published_at=datetime(2026, 1, 1, tzinfo=UTC),
        content_hash="h" * 64,
        previous_hash=None,
        revoked_at=None,
        revocation_reason=None,
        archived_at=None,
        product_id="p",
        template_id="t",
        template_version=1,
        fields=(PublicField(weight, 12.5),),
        product_name="Thing",
        product_category=None,
    )
