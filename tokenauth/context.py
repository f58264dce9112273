"""The caller's current state (roles, membership, policies), asked of identity and cached briefly.

A token says who signed in; identity's database says what they may do *now*. Subgraphs and the
gateway ask identity's ``GET /auth/context`` through :class:`CallerContextClient`, which caches each
answer for ``ttl`` seconds (keyed by the token's SHA-256, the tenant asked for and the policies asked
about). With a Redis URL, the client also listens on :data:`INVALIDATE_CHANNEL`, on which identity
publishes whenever roles, memberships, statuses, sessions or policies change, and empties its cache
at once. Identity itself plugs an in-process :class:`ContextSource` in instead of the HTTP client.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from tokenauth.channel import ChannelListener
from tokenauth.errors import NOT_A_MEMBER_MESSAGE, ContextUnavailable, InvalidToken, NotAMember

log = logging.getLogger("tokenauth.context")

INVALIDATE_CHANNEL = "dpp:auth:invalidate"
CONTEXT_PATH = "/auth/context"


@dataclass(frozen=True, slots=True)
class CallerContext:
    """Who is calling and what they may do in the active tenant, as identity knows it now."""

    user_id: str
    email: str
    tenant_id: str | None
    roles: tuple[str, ...]
    scopes: frozenset[str]
    policies: frozenset[str]
    platform_admin: bool
    acting_as_platform_admin: bool
    tenant_class: str | None
    session_id: str | None
    expires_at: int

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> CallerContext:
        """From the endpoint's 200 body (camelCase keys)."""
        return cls(
            user_id=str(body["userId"]),
            email=str(body.get("email") or ""),
            tenant_id=_optional(body.get("tenantId")),
            roles=tuple(str(role) for role in body.get("roles") or ()),
            scopes=frozenset(str(scope) for scope in body.get("scopes") or ()),
            policies=frozenset(str(policy) for policy in body.get("policies") or ()),
            platform_admin=bool(body.get("platformAdmin", False)),
            acting_as_platform_admin=bool(body.get("actingAsPlatformAdmin", False)),
            tenant_class=_optional(body.get("tenantClass")),
            session_id=_optional(body.get("sessionId")),
            expires_at=int(body.get("expiresAt") or 0),
        )

    def to_json(self) -> dict[str, Any]:
        """The endpoint's 200 body for this context (what identity answers)."""
        return {
            "userId": self.user_id,
            "email": self.email,
            "tenantId": self.tenant_id,
            "roles": list(self.roles),
            "scopes": sorted(self.scopes),
            "policies": sorted(self.policies),
            "platformAdmin": self.platform_admin,
            "actingAsPlatformAdmin": self.acting_as_platform_admin,
            "tenantClass": self.tenant_class,
            "sessionId": self.session_id,
            "expiresAt": self.expires_at,
        }


class ContextSource(Protocol):
    """Anything that turns a (verified) bearer token and a tenant choice into a :class:`CallerContext`.

    ``resolve`` raises :class:`InvalidToken` (answer 401), :class:`NotAMember` (403) or
    :class:`ContextUnavailable` (503).
    """

    async def resolve(self, token: str, tenant: str | None, policies: Iterable[str] = ()) -> CallerContext: ...


class CallerContextClient:
    """Asks identity's ``/auth/context`` (``url`` is identity's base URL or the endpoint itself)."""

    def __init__(
        self,
        url: str,
        *,
        ttl: float = 5.0,
        redis_url: str | None = None,
        timeout: float = 5.0,
        max_entries: int = 10_000,
    ) -> None:
        base = url.rstrip("/")
        self.url = base if base.endswith(CONTEXT_PATH) else base + CONTEXT_PATH
        self.ttl = ttl
        self.redis_url = redis_url or None
        self._timeout = timeout
        self._max_entries = max_entries
        self._cache: dict[tuple[str, str | None, tuple[str, ...]], tuple[float, CallerContext]] = {}
        self._client: httpx.AsyncClient | None = None
        self._listener = (
            ChannelListener(self.redis_url, INVALIDATE_CHANNEL, on_message=lambda _reason: self.invalidate(),
                            on_reset=self.invalidate, name="tokenauth-invalidate")
            if self.redis_url is not None else None
        )
        # One request per key at a time: when a context expires under load, the requests that
        # find it missing share one GET instead of each asking identity (a stampede that made
        # identity time out under make bench-dpp's dashboard load). Bumped by invalidate(): a
        # fetch that started before an invalidation is not stored.
        self._in_flight: dict[tuple[str, str | None, tuple[str, ...]], asyncio.Task[CallerContext]] = {}
        self._generation = 0
        self.requests = 0

    @property
    def subscribed(self) -> bool:
        """Whether this client is listening for identity's invalidations."""
        return self._listener is not None and self._listener.subscribed

    async def resolve(self, token: str, tenant: str | None, policies: Iterable[str] = ()) -> CallerContext:
        """The caller's context, from the cache when fresh; raises as :class:`ContextSource` says."""
        if self._listener is not None:
            self._listener.start()
        asked = tuple(sorted(set(policies)))
        key = (hashlib.sha256(token.encode()).hexdigest(), tenant, asked)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        task = self._in_flight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._fetch_and_store(key, token, tenant, asked))
            self._in_flight[key] = task
            task.add_done_callback(lambda done: self._landed(key, done))
        # shielded: a caller that gives up does not cancel the request the others wait for
        return await asyncio.shield(task)

    async def _fetch_and_store(
        self, key: tuple[str, str | None, tuple[str, ...]], token: str, tenant: str | None, asked: tuple[str, ...]
    ) -> CallerContext:
        generation = self._generation
        now = time.monotonic()
        context = await self._fetch(token, tenant, asked)
        lifetime = min(self.ttl, context.expires_at - time.time()) if context.expires_at else self.ttl
        if lifetime > 0 and generation == self._generation:
            self._store(key, (now + lifetime, context))
        return context

    def _landed(self, key: tuple[str, str | None, tuple[str, ...]], task: asyncio.Task[CallerContext]) -> None:
        if self._in_flight.get(key) is task:
            del self._in_flight[key]
        if not task.cancelled():
            task.exception()  # retrieved: every waiter may have gone

    def invalidate(self) -> None:
        """Forget every cached context (identity said something changed)."""
        self._generation += 1
        self._cache.clear()
        self._in_flight.clear()  # later callers ask again; the requests already out are not stored

    async def aclose(self) -> None:
        """Stop listening for invalidations and close the HTTP client."""
        if self._listener is not None:
            await self._listener.stop()
        if self._client is not None:
            with contextlib.suppress(RuntimeError):
                await self._client.aclose()
            self._client = None
        self._cache.clear()

    async def _fetch(self, token: str, tenant: str | None, policies: tuple[str, ...]) -> CallerContext:
        if self._client is None:
            # Idle connections are dropped before identity's server would (uvicorn closes them after
            # 5 s): a request sent on a connection the server is closing gets no answer.
            self._client = httpx.AsyncClient(timeout=self._timeout, limits=httpx.Limits(keepalive_expiry=2.0))
        headers = {"authorization": f"Bearer {token}", "accept": "application/json"}
        if tenant:
            headers["x-tenant-id"] = tenant
        params = {"policies": ",".join(policies)} if policies else None
        self.requests += 1
        try:
            try:
                response = await self._client.get(self.url, headers=headers, params=params)
            except httpx.RemoteProtocolError:
                # The server closed a kept-alive connection as this request went out (the race
                # keepalive_expiry narrows); the GET is idempotent: once more, on a new connection.
                response = await self._client.get(self.url, headers=headers, params=params)
        except httpx.HTTPError as exc:
            raise ContextUnavailable(f"GET {self.url} failed: {exc.__class__.__name__}: {exc}") from None
        if response.status_code == 401:
            raise InvalidToken(f"identity refused the token: {_message(response)}")
        if response.status_code == 403:
            raise NotAMember(_message(response) or NOT_A_MEMBER_MESSAGE)
        if response.status_code != 200:
            raise ContextUnavailable(f"GET {self.url} answered {response.status_code}")
        try:
            return CallerContext.from_json(response.json())
        except (ValueError, KeyError, TypeError) as exc:
            raise ContextUnavailable(f"GET {self.url} answered an unreadable body ({exc.__class__.__name__})") from None

    def _store(self, key: tuple[str, str | None, tuple[str, ...]], entry: tuple[float, CallerContext]) -> None:
        if len(self._cache) >= self._max_entries:
            now = time.monotonic()
            for stale in [k for k, (expires, _) in self._cache.items() if expires <= now]:
                del self._cache[stale]
            while len(self._cache) >= self._max_entries:
                del self._cache[next(iter(self._cache))]
        self._cache[key] = entry


async def publish_invalidation(redis_url: str, reason: str = "changed") -> None:
    """Tell every :class:`CallerContextClient` listening on ``redis_url`` to drop its cache."""
    import redis.asyncio as aioredis

    connection = aioredis.from_url(redis_url)
    try:
        await connection.publish(INVALIDATE_CHANNEL, reason)
    finally:
        await connection.aclose()


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["errors"][0]["message"])
    except (ValueError, KeyError, IndexError, TypeError):
        return ""


def _optional(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
