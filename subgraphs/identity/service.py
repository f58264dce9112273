"""The identity subgraph's service definition."""

from __future__ import annotations

from pathlib import Path

from subgraphs.common.service import ServiceDefinition
from subgraphs.identity import models, schema, seed, web

DEFINITION = ServiceDefinition(
    name="identity",
    schema_factory=schema.build,
    audit_model=models.AuditEntry,
    migrations_dir=Path(__file__).parent / "migrations",
    seed=seed.seed,
    routes=web.routes,
    context_source=web.context_source,
)
