"""The public view of a published passport is the same for everyone, whoever is signed in, through the gateway
(real identity, catalog, templates and passport servers) and on the passport subgraph; SQLite and PostgreSQL.

Its product is the public face the catalog showed the publisher at publish time (name, category name), stored
with the version: nothing is asked of the tenant-private catalog when the QR code is read.
"""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from subgraphs.common import demo
from subgraphs.common.db import Database
from subgraphs.passport.models import PassportVersion
from tests.gateway_http.test_degrade import Federation, federation
from tests.subgraphs.passport.conftest import PassportServer, Stack
from tests.support.fixtures import identity_issuers, issuer
from tests.support.subgraphs import prepare_database

__all__ = ["federation", "identity_issuers", "issuer"]

PUBLIC = """query($uuid: String!) { publicPassport(uuid: $uuid) {
  uuid name status version contentHash fields { key value } product { name category } template { name }
} }"""
SUBGRAPH_PUBLIC = """query($uuid: String!) { publicPassport(uuid: $uuid) {
  uuid name status version contentHash fields { key value } product { name category }
} }"""
VERSION = "query($id: ID!) { passport(id: $id) { version } }"
SET_VALUES = """mutation($id: ID!, $v: Int!, $values: [FieldValueInput!]!) {
  setPassportValues(id: $id, expectedVersion: $v, values: $values) { version } }"""
PUBLISH = "mutation($id: ID!) { publishPassport(id: $id) { status publishedVersion contentHash } }"

PACK_01 = next(p for p in demo.PASSPORTS if p.name == "ACME_CELL_PACK_01")  # PUBLISHED, version 2
PACK_03 = next(p for p in demo.PASSPORTS if p.name == "ACME_CELL_PACK_03")  # DRAFT, never published
EVERYONE = (None, "acme-viewer", "greenloop-admin", "consultant")


def product_of(passport: demo.DemoPassport) -> demo.DemoProduct:
    return next(p for p in demo.PRODUCTS if p.id == passport.product_id)


def test_the_public_passport_reads_the_same_for_anonymous_and_any_tenant(federation: Federation) -> None:
    product = product_of(PACK_01)
    answers = {user: federation.query(PUBLIC, {"uuid": PACK_01.public_uuid}, user=user) for user in EVERYONE}
    anonymous = answers[None]
    assert "errors" not in anonymous, anonymous
    assert anonymous["data"]["publicPassport"]["product"] == {"name": product.name, "category": "Batteries"}
    for user, answer in answers.items():
        assert answer == anonymous, (user, answer)


def test_the_passport_subgraph_answers_the_product_from_the_version_alone(passport: PassportServer) -> None:
    # The catalog is down (closed port) for this server: the product comes from the stored version.
    product = product_of(PACK_01)
    answers = {
        user: passport.query(SUBGRAPH_PUBLIC, {"uuid": PACK_01.public_uuid}, as_user=user)
        for user in ("acme-viewer", "greenloop-admin")
    }
    anonymous = passport.data(SUBGRAPH_PUBLIC, {"uuid": PACK_01.public_uuid})
    assert anonymous["publicPassport"]["product"] == {"name": product.name, "category": "Batteries"}
    for user, answer in answers.items():
        assert answer == {"data": anonymous}, (user, answer)


def _publish_pack_03(server: PassportServer) -> dict:
    version = server.data(VERSION, {"id": PACK_03.id}, as_user="acme-admin")["passport"]["version"]
    values = [{"key": "manufacture_date", "value": "2026-05-01"}]
    server.data(SET_VALUES, {"id": PACK_03.id, "v": version, "values": values}, as_user="acme-manager")
    return server.data(PUBLISH, {"id": PACK_03.id}, as_user="acme-admin")["publishPassport"]


def test_publishing_stores_the_product_face_the_catalog_shows_the_publisher(stack: Stack) -> None:
    server = stack.passport
    assert _publish_pack_03(server)["status"] == "PUBLISHED"
    product = product_of(PACK_03)
    expected = {"name": product.name, "category": "Batteries"}
    for user in EVERYONE:
        public = server.data(SUBGRAPH_PUBLIC, {"uuid": PACK_03.public_uuid}, as_user=user)["publicPassport"]
        assert public["product"] == expected, user


def test_publishing_with_the_catalog_down_publishes_without_a_product_face(passport: PassportServer) -> None:
    # Publishing does not wait for the catalog: the version is published, its public product is null.
    published = _publish_pack_03(passport)
    assert (published["status"], published["publishedVersion"]) == ("PUBLISHED", 1)
    for user in EVERYONE:
        public = passport.data(SUBGRAPH_PUBLIC, {"uuid": PACK_03.public_uuid}, as_user=user)["publicPassport"]
        assert public["product"] is None, user


def test_seeding_again_fills_the_face_of_demo_versions_published_before_the_migration(database_url_factory) -> None:
    # A database seeded before passport_0004 has the demo versions with NULL faces after migrating.
    url = database_url_factory("passport_face")
    prepare_database("passport", url)
    clear = sa.update(PassportVersion).values(product_name=None, product_category=None)
    faces = sa.select(col(PassportVersion.product_name), col(PassportVersion.product_category)).where(
        col(PassportVersion.passport_id) == PACK_01.id
    )

    async def run(statement: Any, *, rows: bool = True) -> list[tuple[Any, ...]]:
        database = Database(url)
        try:
            async with database.system_session() as session:
                result = await session.execute(statement)
                return [tuple(r) for r in result.all()] if rows else []
        finally:
            await database.dispose()

    asyncio.run(run(clear, rows=False))
    assert asyncio.run(run(faces)) == [(None, None), (None, None)]
    prepare_database("passport", url)
    assert asyncio.run(run(faces)) == [(product_of(PACK_01).name, "Batteries")] * 2
