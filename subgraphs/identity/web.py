"""Identity's HTTP routes beside ``/graphql``: OIDC discovery, the JWKS and ``GET /auth/context``.

``/auth/context`` (the contract of issue 7): ``Authorization: Bearer <access token>``,
optional ``X-Tenant-ID``, optional ``?policies=a,b``. 200 with the caller's current
context; 401 ``UNAUTHENTICATED`` with one stable message for every token problem
(the reason goes to the log only); 403 ``FORBIDDEN`` for a tenant the caller may
not act in. Identity itself uses :class:`InProcessContextSource`, the same code
without HTTP.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from subgraphs.common.service import ServiceRuntime
from subgraphs.identity.context import resolve_context
from subgraphs.identity.services import IdentityServices, identity_services
from tokenauth import CallerContext, ContextUnavailable, InvalidToken, NotAMember
from tokenauth.errors import INVALID_TOKEN_MESSAGE, NOT_A_MEMBER_MESSAGE

log = logging.getLogger("dpp.identity.auth")
MAX_POLICIES = 64
JWKS_MAX_AGE = 60  # short: a rotated key must reach verifiers soon
DISCOVERY_MAX_AGE = 300


def _json(body: object, status: int = 200, *, cache: str = "no-store") -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers={"cache-control": cache}
    )


def _error(status: int, message: str, code: str) -> Response:
    return _json({"errors": [{"message": message, "extensions": {"code": code}}]}, status)


class InProcessContextSource:
    """Identity's own context source (``ServiceDefinition.context_source``): no HTTP, the same function."""

    def __init__(self, services: IdentityServices) -> None:
        self.services = services

    async def resolve(self, token: str, tenant: str | None, policies: Iterable[str] = ()) -> CallerContext:
        """The caller's current context; raises InvalidToken (401) or NotAMember (403)."""
        verified = await self.services.verify(token)
        return await resolve_context(
            self.services.runtime.database, verified, tenant, policies, own_issuer=self.services.issuer.url
        )


def context_source(runtime: ServiceRuntime) -> InProcessContextSource:
    """The in-process context source of identity's runtime."""
    return InProcessContextSource(identity_services(runtime))


def routes(runtime: ServiceRuntime) -> Sequence[BaseRoute]:
    """Discovery, JWKS and the caller-context endpoint (the keys are created now if missing)."""
    services = identity_services(runtime)
    source = InProcessContextSource(services)

    async def discovery(_request: Request) -> Response:
        return _json(services.issuer.discovery(), cache=f"public, max-age={DISCOVERY_MAX_AGE}")

    async def jwks(_request: Request) -> Response:
        return _json(services.issuer.keys.jwks(), cache=f"public, max-age={JWKS_MAX_AGE}")

    async def auth_context(request: Request) -> Response:
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _error(401, INVALID_TOKEN_MESSAGE, "UNAUTHENTICATED")
        raw = request.query_params.get("policies") or ""
        policies = [p.strip() for p in raw.split(",") if p.strip()][:MAX_POLICIES]
        tenant = (request.headers.get("x-tenant-id") or "").strip() or None
        try:
            context = await source.resolve(token.strip(), tenant, policies)
        except InvalidToken as exc:
            log.info("context refused: %s", exc.reason)
            return _error(401, INVALID_TOKEN_MESSAGE, "UNAUTHENTICATED")
        except NotAMember:
            return _error(403, NOT_A_MEMBER_MESSAGE, "FORBIDDEN")
        except ContextUnavailable as exc:
            log.warning("context unavailable: %s", exc.reason)
            return _error(503, "Authentication is temporarily unavailable", "SERVICE_UNAVAILABLE")
        return _json(context.to_json())

    return [
        Route("/.well-known/openid-configuration", discovery, methods=["GET"]),
        Route("/.well-known/jwks.json", jwks, methods=["GET"]),
        Route("/auth/context", auth_context, methods=["GET"]),
    ]
