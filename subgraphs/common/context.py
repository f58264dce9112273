"""The per-request context every resolver receives as ``info.context``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request

from subgraphs.common.caller import Caller
from subgraphs.common.db import Database
from subgraphs.common.loaders import Loaders
from subgraphs.common.settings import Settings
from subgraphs.common.tenancy import Scope

if TYPE_CHECKING:
    from subgraphs.common.service import ServiceRuntime


@dataclass
class RequestContext:
    """Caller, database session, dataloaders and correlation id of one request.

    The session is opened on first use and closed when the request ends; its
    scope is the caller's tenant, so every query is tenant-filtered.
    """

    caller: Caller
    database: Database
    settings: Settings
    service: ServiceRuntime
    correlation_id: str
    # The HTTP request (client address, headers); None outside HTTP (tests building a context by hand).
    request: Request | None = field(default=None, repr=False)
    loaders: Loaders = field(default_factory=Loaders)
    _session: AsyncSession | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def session(self) -> AsyncSession:
        """The request's session, scoped to the caller's tenant."""
        if self._session is None:
            self._session = self.database.session(Scope(tenant_id=self.caller.tenant_id))
        return self._session

    def loader(self, key: Any, factory: Any) -> Any:
        """Shorthand for ``self.loaders.get(key, factory)``."""
        return self.loaders.get(key, factory)

    async def aclose(self) -> None:
        """Roll back anything left open and close the session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
