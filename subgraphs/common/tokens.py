"""How one subgraph process learns who is calling: tokenauth's verifier, then identity's current context.

Every request with a bearer token goes through :meth:`SubgraphAuth.context`:

1. the token is verified here, against the JWKS of the trusted issuers (``OIDC_ISSUERS``, by default
   identity's ``ISSUER_URL``), so garbage and forgeries never leave the process;
2. the caller's current state (roles, membership, tenant status, policies) comes from a context
   source: identity's ``GET /auth/context`` through :class:`tokenauth.CallerContextClient` (cached
   for ``AUTH_CONTEXT_TTL`` seconds, dropped at once on a Redis invalidation when ``REDIS_URL`` is
   set), or, in identity itself, the in-process source its ``ServiceDefinition.context_source`` gives
   (which verifies the token itself, so step 1 is skipped there).

The verifier and the clients are created on first use, inside the server's event loop, and
closed by :meth:`SubgraphAuth.aclose` when the app shuts down.
"""

from __future__ import annotations

from collections.abc import Callable

from subgraphs.common.settings import Settings
from tokenauth import CallerContext, CallerContextClient, ContextSource, TokenVerifier


class SubgraphAuth:
    """The verifier and the context source of one subgraph process."""

    def __init__(self, settings: Settings, in_process: Callable[[], ContextSource] | None = None) -> None:
        self.settings = settings
        self._in_process = in_process
        self._source: ContextSource | None = None
        self._client: CallerContextClient | None = None
        self._verifier: TokenVerifier | None = None

    @property
    def verifier(self) -> TokenVerifier | None:
        """The token verifier (None until first use, and always in identity, whose source verifies)."""
        return self._verifier

    async def context(self, token: str, tenant: str | None) -> CallerContext:
        """The current context of ``token`` acting in ``tenant`` (``X-Tenant-ID``; None: the token's tenant).

        Raises tokenauth's ``InvalidToken`` (401), ``NotAMember`` (403) or ``ContextUnavailable`` (503).
        """
        source = self._source or self._open()
        if self._verifier is not None:
            await self._verifier.verify(token)
        return await source.resolve(token, tenant)

    def _open(self) -> ContextSource:
        if self._in_process is not None:
            self._source = self._in_process()
            return self._source
        self._verifier = self.settings.verifier.verifier()
        self._client = CallerContextClient(
            self.settings.identity_url,
            ttl=self.settings.auth_context_ttl,
            redis_url=self.settings.redis_url or None,
        )
        self._source = self._client
        return self._source

    async def aclose(self) -> None:
        """Close the verifier and the context client (identity closes its own source)."""
        if self._verifier is not None:
            await self._verifier.aclose()
            self._verifier = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._source = None
