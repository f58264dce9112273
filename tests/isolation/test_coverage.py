"""A new root field, mutation or entity type cannot be forgotten by the isolation suite.

The schemas are the ones ``make schema`` checks in (tests/test_schema_snapshots.py keeps them in step
with the code). No stack is needed: this runs in well under a second.
"""

from __future__ import annotations

import pytest

from tests.isolation import schema_model
from tests.isolation.entity_table import REPRESENTATIONS, RULES
from tests.isolation.mutation_table import MUTATIONS
from tests.isolation.query_table import QUERIES

TABLES = "tests/isolation/"


def test_every_root_query_has_a_case() -> None:
    fields = {f.name for f in schema_model.supergraph().root("Query")}
    covered = {c.field for c in QUERIES}
    missing = sorted(fields - covered)
    assert not missing, (
        f"root queries without a tenant-isolation case: {missing}; add entries to {TABLES}query_table.py (QUERIES): "
        "how tenant A calls the field with tenant B's ids and what it must get"
    )
    stale = sorted(covered - fields)
    assert not stale, f"{TABLES}query_table.py has cases for fields the supergraph no longer has: {stale}"


def test_every_mutation_has_a_case() -> None:
    fields = {f.name for f in schema_model.supergraph().root("Mutation")}
    covered = {c.field for c in MUTATIONS}
    missing = sorted(fields - covered)
    assert not missing, (
        f"mutations without a tenant-isolation case: {missing}; add entries to {TABLES}mutation_table.py "
        "(MUTATIONS): how tenant A's Admin calls it with tenant B's ids and which error it must answer"
    )
    stale = sorted(covered - fields)
    assert not stale, f"{TABLES}mutation_table.py has cases for mutations the supergraph no longer has: {stale}"


@pytest.mark.parametrize("subgraph", schema_model.SUBGRAPHS)
def test_every_entity_type_has_a_rule_and_representations(subgraph: str) -> None:
    schema = schema_model.subgraph(subgraph)
    assert schema.keys, f"no entity types read from schema/subgraphs/{subgraph}.graphql"
    unruled = sorted(t for t in schema.keys if (subgraph, t) not in RULES)
    assert not unruled, (
        f"entity types of {subgraph} without an isolation rule: {unruled}; add them to {TABLES}entity_table.py (RULES: "
        "HIDDEN when tenant-owned, VIEW when public or a reference)"
    )
    unkeyed = sorted(f"{t}({k})" for t, keys in schema.keys.items() for k in keys if not REPRESENTATIONS.get((t, k)))
    assert not unkeyed, (
        f"entity keys of {subgraph} without tenant B representations: {unkeyed}; add them to "
        f"{TABLES}entity_table.py (REPRESENTATIONS)"
    )


def test_rules_name_existing_entity_types() -> None:
    existing = {(name, t) for name in schema_model.SUBGRAPHS for t in schema_model.subgraph(name).keys}
    stale = sorted(set(RULES) - existing)
    assert not stale, f"{TABLES}entity_table.py has rules for entity types no subgraph has: {stale}"


def test_the_schema_reader_sees_what_it_must() -> None:
    """A guard on the guard: the reader finds the known fields, their subgraphs and the keys."""
    queries = {f.name: f.graph for f in schema_model.supergraph().root("Query")}
    assert queries["products"] == "catalog" and queries["passport"] == "passport" and "_entities" not in queries
    assert {"createProduct", "publishPassport", "login"} <= {f.name for f in schema_model.supergraph().root("Mutation")}
    assert schema_model.subgraph("passport").keys["Passport"] == ("id", "uuid")
