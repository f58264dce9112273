"""The passport subgraph's definition: schema, audit table, migrations and seed."""

from __future__ import annotations

from pathlib import Path

from subgraphs.common.service import ServiceDefinition
from subgraphs.passport import models, schema, seed

DEFINITION = ServiceDefinition(
    name="passport",
    schema_factory=schema.build,
    audit_model=models.AuditEntry,
    migrations_dir=Path(__file__).parent / "migrations",
    seed=seed.seed,
)
