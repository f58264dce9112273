"""The catalog subgraph's definition: schema, audit table, migrations and seed."""

from __future__ import annotations

from pathlib import Path

from subgraphs.catalog import models, schema, seed
from subgraphs.common.service import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="catalog",
    schema_factory=schema.build,
    audit_model=models.AuditEntry,
    migrations_dir=Path(__file__).parent / "migrations",
    seed=seed.seed,
)
