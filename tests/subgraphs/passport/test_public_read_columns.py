"""The public read behind a QR-code scan fetches what the public view shows, not a passport's working values.

A published passport's public view is read from its published version's hashed content; the passport's
own ``values`` (the draft being edited, possibly unpublished) and the version's copy of them have no
place in it. The read selects the columns the view needs as plain rows
(:func:`subgraphs.passport.repository.public_passports`), so those values never leave the database for
an anonymous caller; and it stays one statement on SQLite, two on PostgreSQL (row-level security's).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from subgraphs.common import demo
from tests.subgraphs.test_public_cache import PUBLIC, _server
from tests.support.client import gql
from tests.support.identity import IdentityIssuer

PACK_01 = next(p for p in demo.PASSPORTS if p.name == "ACME_CELL_PACK_01")


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement any engine in this process sends while the test runs."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def test_a_public_read_does_not_fetch_the_working_values(
    database_url_factory: Any, issuer: IdentityIssuer, statements: list[str]
) -> None:
    with _server(database_url_factory("passport"), issuer, public_passport_cache_size=0) as server:
        statements.clear()
        body = gql(server.url + "/graphql", PUBLIC, {"uuid": PACK_01.public_uuid})
        assert body["data"]["publicPassport"]["name"] == "ACME_CELL_PACK_01"
        assert body["data"]["publicPassport"]["fields"]
        # the public read joins the passport to its published version (other servers of this test process
        # may send statements of their own meanwhile: only joins of the two tables by uuid are looked at)
        reads = [s for s in statements if "passport_versions" in s and re.search(r"passport_passports\.uuid IN", s)]
        assert reads, statements
        for read in reads:
            selected = read.split(" FROM ", 1)[0]
            # SQLite's dialect quotes the column ("values" is a keyword there), PostgreSQL's does not
            assert not re.search(r'\bpassport_(passports|versions)\."?values\b', selected), selected
