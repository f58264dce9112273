"""No N+1: a page of 3 or of every passport, with nested relations, costs the same SQL statements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from subgraphs.common import demo
from subgraphs.passport.models import AuditEntry
from subgraphs.passport.seed import build
from tests.subgraphs.passport.conftest import PassportServer
from tests.support.postgres import rls_statements

ACME_ID = demo.tenant("acme").id
PACK_01 = next(p for p in demo.PASSPORTS if p.name == "ACME_CELL_PACK_01")
EXTRA = 40

LISTING = """query($first: Int) { passports(first: $first) { totalCount nodes {
  id name status version publishedVersion contentHash
  tenant { id } product { id } template { id }
  fields { key value access } values { key value } missingRequiredFields
  versions { number contentHash previousHash publishedBy { id } values { key value } }
  hashChainValid
  auditEntries { action result user { id } }
} } }"""

PRODUCTS = """query($r: [_Any!]!) { _entities(representations: $r) { ... on Product {
  id passportCount passports { name versions { number } auditEntries { action } }
} } }"""


def bulk_product_index(i: int) -> int:
    """Bulk passports go to the battery products (indexes 0, 3, 6, ... 33)."""
    return (i * 3) % 36


def add_bulk_passports(server: PassportServer) -> None:
    """40 more Acme passports, each with two published versions and two audit entries."""

    async def work(session) -> None:
        for i in range(EXTRA):
            bulk = demo.DemoPassport(
                "acme", f"ACME_BULK_{i:03d}", bulk_product_index(i), "product-dpp", "PUBLISHED", PACK_01.values, 2
            )
            row, versions = build(bulk, 100 + i)
            session.add(row)
            await session.flush()
            session.add_all(versions)
            for minutes, action in enumerate(("createPassport", "publishPassport")):
                session.add(
                    AuditEntry(
                        tenant_id=ACME_ID,
                        user_id=row.created_by,
                        action=action,
                        object_type="Passport",
                        object_id=row.id,
                        result="OK",
                        created_at=datetime(2026, 7, 1, tzinfo=UTC) + timedelta(minutes=minutes),
                    )
                )

    server.with_session(work)


def statements_of(server: PassportServer, query: str, variables: dict) -> tuple[int, dict]:
    before = server.statements()
    data = server.data(query, variables, as_user="acme-viewer")
    return server.statements() - before, data


def test_listing_3_or_all_passports_with_relations_costs_the_same_statements(
    passport: PassportServer, backend: str
) -> None:
    add_bulk_passports(passport)
    small_cost, small = statements_of(passport, LISTING, {"first": 3})
    large_cost, large = statements_of(passport, LISTING, {"first": 200})
    assert len(small["passports"]["nodes"]) == 3
    assert len(large["passports"]["nodes"]) == 6 + EXTRA
    bulk = next(n for n in large["passports"]["nodes"] if n["name"] == "ACME_BULK_000")
    assert [v["number"] for v in bulk["versions"]] == [2, 1]
    assert [a["action"] for a in bulk["auditEntries"]] == ["publishPassport", "createPassport"]
    assert bulk["hashChainValid"] is True
    # count + page + versions (one batch) + audit entries (one batch), + the RLS tenant
    assert small_cost == large_cost == 4 + rls_statements(backend)


def test_entities_of_3_or_36_products_cost_the_same_statements(passport: PassportServer, backend: str) -> None:
    add_bulk_passports(passport)
    acme_products = [p for p in demo.PRODUCTS if p.tenant_key == "acme"]
    reps = [{"__typename": "Product", "id": p.id} for p in acme_products]
    small_cost, small = statements_of(passport, PRODUCTS, {"r": reps[:3]})
    large_cost, large = statements_of(passport, PRODUCTS, {"r": reps})
    seeded = [p.product_index for p in demo.PASSPORTS if p.tenant_key == "acme"]
    indexes = seeded + [bulk_product_index(i) for i in range(EXTRA)]
    assert [e["passportCount"] for e in small["_entities"]] == [indexes.count(i) for i in range(3)]
    assert [e["passportCount"] for e in large["_entities"]] == [indexes.count(p.index) for p in acme_products]
    assert sum(e["passportCount"] for e in large["_entities"]) == 6 + EXTRA
    assert all(len(e["passports"]) == e["passportCount"] for e in large["_entities"])
    # passports per product + counts per product + versions + audit entries, + the RLS tenant
    assert small_cost == large_cost == 4 + rls_statements(backend)


def test_entities_of_many_passports_cost_one_statement(passport: PassportServer, backend: str) -> None:
    add_bulk_passports(passport)
    ids = [p.id for p in demo.PASSPORTS if p.tenant_key == "acme"]
    query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Passport { name } } }"
    small_cost, _ = statements_of(passport, query, {"r": [{"__typename": "Passport", "id": i} for i in ids[:2]]})
    large_cost, large = statements_of(passport, query, {"r": [{"__typename": "Passport", "id": i} for i in ids]})
    assert [e["name"] for e in large["_entities"]] == [f"ACME_CELL_PACK_0{i}" for i in range(1, 7)]
    assert small_cost == large_cost == 1 + rls_statements(backend)  # (+ the RLS tenant)
