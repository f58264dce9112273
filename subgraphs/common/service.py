"""What a subgraph declares about itself, and what one running instance holds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from subgraphs.common.audit import AuditEntryBase
from subgraphs.common.db import Database
from subgraphs.common.events import EventBus, open_bus
from subgraphs.common.metrics import Metrics
from subgraphs.common.settings import Settings
from subgraphs.common.tokens import SubgraphAuth
from tokenauth import ContextSource

if TYPE_CHECKING:
    import strawberry
    from starlette.routing import BaseRoute


@dataclass(frozen=True)
class ServiceDefinition:
    """A subgraph's static description: its schema, tables, migrations and seed.

    ``table_prefix`` namespaces its tables so that the four subgraphs can share
    one PostgreSQL database without collisions (and so that each subgraph's
    Alembic history touches only its own tables).
    """

    name: str
    schema_factory: Callable[[], strawberry.federation.Schema]
    audit_model: type[AuditEntryBase]
    migrations_dir: Path
    seed: Callable[[Database, Settings], Awaitable[None]] | None = None
    # Extra HTTP routes of this subgraph's app (identity: discovery, JWKS, /auth/context).
    routes: Callable[[ServiceRuntime], Sequence[BaseRoute]] | None = None
    # An in-process caller-context source (identity): it verifies the token itself and reads the current
    # state without HTTP. None: verify with tokenauth and ask identity's /auth/context (subgraphs.common.tokens).
    context_source: Callable[[ServiceRuntime], ContextSource] | None = None

    @property
    def table_prefix(self) -> str:
        """Every table of this subgraph starts with this."""
        return f"{self.name}_"

    @property
    def version_table(self) -> str:
        """Alembic's version table for this subgraph."""
        return f"{self.name}_alembic_version"


@dataclass
class ServiceRuntime:
    """One running instance of a subgraph: settings, database, caller authentication and metrics."""

    definition: ServiceDefinition
    settings: Settings
    database: Database
    metrics: Metrics
    extra: dict[str, Any]
    # Awaited at shutdown, newest first (clients and connections opened by the subgraph's own services).
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Token verification and the caller-context source (built in __post_init__).
    auth: SubgraphAuth = field(init=False)
    # Committed mutations' events for subscriptions (in-process, or Redis Streams with REDIS_URL).
    events: EventBus = field(init=False)

    def __post_init__(self) -> None:
        factory = self.definition.context_source
        self.auth = SubgraphAuth(self.settings, (lambda: factory(self)) if factory is not None else None)
        self.closers.append(self.auth.aclose)
        self.events = open_bus(self.settings)
        self.closers.append(self.events.aclose)

    @classmethod
    def create(cls, definition: ServiceDefinition, settings: Settings) -> ServiceRuntime:
        """Open the database (lazily connecting) and set up metrics for ``settings``."""
        database = Database(settings.database_url, echo=settings.sql_echo)
        return cls(
            definition=definition,
            settings=settings,
            database=database,
            metrics=Metrics(definition.name, database.statements),
            extra={},
        )

    @property
    def audit_model(self) -> type[AuditEntryBase]:
        """The subgraph's audit table."""
        return self.definition.audit_model
