"""The templates subgraph's definition: schema, audit table, migrations and seed."""

from __future__ import annotations

from pathlib import Path

from subgraphs.common.service import ServiceDefinition
from subgraphs.templates import models, schema, seed

DEFINITION = ServiceDefinition(
    name="templates",
    schema_factory=schema.build,
    audit_model=models.AuditEntry,
    migrations_dir=Path(__file__).parent / "migrations",
    seed=seed.seed,
)
