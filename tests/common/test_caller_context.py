"""tokenauth's CallerContextClient: the answer mapping, the brief cache and Redis invalidation.

The endpoint here is a stand-in that answers like identity's ``/auth/context`` and counts requests;
the tests of the subgraph harness exercise the real identity endpoint.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.redis import RedisServer
from tests.support.servers import ServerThread
from tokenauth import CallerContext, CallerContextClient, ContextUnavailable, InvalidToken, NotAMember
from tokenauth.context import publish_invalidation
from tokenauth.settings import issuers_from_env, verifier_settings_from_env


@dataclass
class Identity:
    """What the stand-in answers: roles per token, and a log of the requests it got."""

    roles: dict[str, list[str]] = field(default_factory=lambda: {"good": ["Admin"]})
    requests: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    status: int = 200


def context_app(identity: Identity) -> Starlette:
    async def context(request: Request) -> JSONResponse:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        tenant = request.headers.get("x-tenant-id")
        identity.requests.append((token, tenant, request.query_params.get("policies")))
        if identity.status != 200:
            return JSONResponse({"error": "down"}, status_code=identity.status)
        if token not in identity.roles:
            body = {"errors": [{"message": "Invalid or expired token", "extensions": {"code": "UNAUTHENTICATED"}}]}
            return JSONResponse(body, status_code=401)
        if tenant == "T-other":
            body = {"errors": [{"message": "You are not a member of that tenant", "extensions": {"code": "FORBIDDEN"}}]}
            return JSONResponse(body, status_code=403)
        asked = [p for p in (request.query_params.get("policies") or "").split(",") if p]
        return JSONResponse(
            {
                "userId": "U1",
                "email": "u1@example.test",
                "tenantId": tenant or "T1",
                "roles": identity.roles[token],
                "scopes": ["catalog:write"],
                "policies": [p for p in asked if p == "passport:publish"],
                "platformAdmin": False,
                "actingAsPlatformAdmin": False,
                "tenantClass": "standard",
                "sessionId": "S1",
                "expiresAt": int(time.time()) + 300,
            }
        )

    return Starlette(routes=[Route("/auth/context", context)])


@pytest.fixture(scope="module")
def identity() -> Iterator[tuple[Identity, str]]:
    state = Identity()
    with ServerThread(context_app(state)) as server:
        yield state, server.url


@pytest.fixture
async def client(identity: tuple[Identity, str]) -> AsyncIterator[CallerContextClient]:
    state, url = identity
    state.requests.clear()
    state.roles = {"good": ["Admin"]}
    state.status = 200
    client = CallerContextClient(url, ttl=60.0)
    yield client
    await client.aclose()


async def test_answer_is_mapped_and_cached_per_token_tenant_and_policies(
    client: CallerContextClient, identity: tuple[Identity, str]
) -> None:
    state, _ = identity
    context = await client.resolve("good", None, ["passport:publish", "catalog:feature"])
    assert context == CallerContext(
        user_id="U1",
        email="u1@example.test",
        tenant_id="T1",
        roles=("Admin",),
        scopes=frozenset({"catalog:write"}),
        policies=frozenset({"passport:publish"}),
        platform_admin=False,
        acting_as_platform_admin=False,
        tenant_class="standard",
        session_id="S1",
        expires_at=context.expires_at,
    )
    assert state.requests == [("good", None, "catalog:feature,passport:publish")]
    assert await client.resolve("good", None, ["catalog:feature", "passport:publish"]) is context
    assert len(state.requests) == 1
    await client.resolve("good", "T2", ["catalog:feature", "passport:publish"])  # another tenant: asked again
    await client.resolve("good", None)  # other policies: asked again
    assert len(state.requests) == 3
    client.invalidate()
    await client.resolve("good", None)
    assert len(state.requests) == 4


async def test_cache_expires_after_ttl(identity: tuple[Identity, str]) -> None:
    state, url = identity
    state.requests.clear()
    state.status = 200
    client = CallerContextClient(url, ttl=0.2)
    try:
        await client.resolve("good", None)
        state.roles["good"] = ["Viewer"]
        assert (await client.resolve("good", None)).roles == ("Admin",)
        await asyncio.sleep(0.3)
        assert (await client.resolve("good", None)).roles == ("Viewer",)
    finally:
        await client.aclose()


async def test_refusals_and_outages_map_to_their_errors(
    client: CallerContextClient, identity: tuple[Identity, str]
) -> None:
    state, _ = identity
    with pytest.raises(InvalidToken) as invalid:
        await client.resolve("revoked", None)
    assert str(invalid.value) == "Invalid or expired token"
    with pytest.raises(NotAMember, match="You are not a member of that tenant"):
        await client.resolve("good", "T-other")
    state.status = 500
    with pytest.raises(ContextUnavailable):
        await client.resolve("good", "T9")


async def test_identity_down_is_unavailable() -> None:
    client = CallerContextClient("http://127.0.0.1:1", ttl=5.0, timeout=2.0)
    try:
        with pytest.raises(ContextUnavailable):
            await client.resolve("good", None)
    finally:
        await client.aclose()


async def test_redis_message_drops_the_cache_at_once(identity: tuple[Identity, str], redis_server: RedisServer) -> None:
    state, url = identity
    state.requests.clear()
    state.roles = {"good": ["Admin"]}
    state.status = 200
    client = CallerContextClient(url, ttl=3600.0, redis_url=redis_server.url)
    try:
        await client.resolve("good", None)  # starts listening
        for _ in range(200):
            if client.subscribed:
                break
            await asyncio.sleep(0.02)
        assert client.subscribed
        await client.resolve("good", None)  # cached from here on
        asked = len(state.requests)
        state.roles["good"] = ["Viewer"]  # demoted
        assert (await client.resolve("good", None)).roles == ("Admin",)  # still cached
        assert len(state.requests) == asked
        await publish_invalidation(redis_server.url, "membership changed")
        for _ in range(200):
            if (await client.resolve("good", None)).roles == ("Viewer",):
                break
            await asyncio.sleep(0.02)
        assert (await client.resolve("good", None)).roles == ("Viewer",)
    finally:
        await client.aclose()


def test_issuers_from_env_defaults_to_the_dev_issuer() -> None:
    (issuer,) = issuers_from_env({})
    assert (issuer.issuer, issuer.audiences, issuer.algorithms) == (
        "http://127.0.0.1:4001",
        ("dpp",),
        ("RS256", "ES256"),
    )
    assert issuer.tenant_claim == "tid" and issuer.tenant_from_issuer is None and issuer.roles_claim is None
    (issuer,) = issuers_from_env({"ISSUER_URL": "http://identity:4001/"})
    assert issuer.issuer == "http://identity:4001"


def test_issuers_from_env_for_keycloak_realm_per_tenant() -> None:
    env = {
        "OIDC_ISSUERS": "http://127.0.0.1:4001, https://kc.example/realms/acme,https://kc.example/realms/globex",
        "OIDC_AUDIENCE": "dpp,account",
        "OIDC_ALGORITHMS": "RS256",
        "OIDC_TENANT_FROM_ISSUER": r"https://kc\.example/realms/(?P<tenant>[^/]+)",
        "OIDC_ROLES_CLAIM": "realm_access.roles",
        "OIDC_LEEWAY": "5",
        "OIDC_JWKS_POLL_INTERVAL": "60",
    }
    settings = verifier_settings_from_env(env)
    dev, acme, globex = settings.issuers
    assert (settings.leeway, settings.poll_interval) == (5, 60.0)
    assert acme.audiences == ("dpp", "account") and acme.algorithms == ("RS256",)
    assert acme.tenant_of({"tid": "ignored"}) == "acme" and globex.tenant_of({}) == "globex"
    assert dev.tenant_of({"tid": "T1"}) == "T1"  # the regex does not match: tenant from the claim
    assert acme.roles_of({"realm_access": {"roles": ["Manager", "offline_access"]}}) == ("Manager", "offline_access")
    assert acme.roles_of({"realm_access": {}}) == ()
    with pytest.raises(ValueError, match="algorithms must be among"):
        issuers_from_env({"OIDC_ALGORITHMS": "HS256"})


async def test_close_while_the_subscriber_connects_does_not_hang(redis_server: RedisServer) -> None:
    # redis-py may swallow a cancellation that arrives while it connects; aclose must still finish.
    client = CallerContextClient("http://127.0.0.1:1", redis_url=redis_server.url, timeout=2.0)
    with pytest.raises(ContextUnavailable):
        await client.resolve("good", None)
    async with asyncio.timeout(6):
        await client.aclose()


async def test_a_keep_alive_connection_the_server_closed_is_retried_once_on_a_fresh_one() -> None:
    """identity (uvicorn) closes an idle keep-alive connection after 5 s; a request sent on it at that
    moment gets no answer ("Server disconnected without sending a response"). Found by make bench-dpp:
    one catalog request failed. The idempotent GET is sent again on a new connection."""
    import asyncio

    from tokenauth import CallerContextClient

    body = b'{"userId": "u1", "tenantId": "t1", "roles": ["viewer"]}'
    answered: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = len(answered)
        answered.append(0)
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if not head:
                return
            if connection == 0 and answered[connection] == 1:
                writer.close()  # the second request on the first connection: closed without an answer
                return
            answered[connection] += 1
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
            await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = CallerContextClient(f"http://127.0.0.1:{port}", ttl=0)
    try:
        first = await client.resolve("token-a", "t1")
        second = await client.resolve("token-b", "t1")  # reuses the first connection, which is dropped
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()
    assert first.user_id == second.user_id == "u1"
    assert answered == [1, 1], "the second request was answered on a new connection"


async def test_concurrent_lookups_of_one_caller_share_one_request() -> None:
    """When a context expires under load, the requests that find it missing ask identity once
    (found by make bench-dpp: a dashboard's concurrent lookups stampeded identity into timeouts)."""
    import asyncio

    from tokenauth import CallerContextClient

    body = b'{"userId": "u1", "tenantId": "t1", "roles": ["viewer"]}'
    requests: list[bytes] = []
    release = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                requests.append(head)
                await release.wait()
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                             + str(len(body)).encode() + b"\r\n\r\n" + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = CallerContextClient(f"http://127.0.0.1:{port}", ttl=60)
    try:
        lookups = [asyncio.ensure_future(client.resolve("token-a", "t1")) for _ in range(20)]
        other = asyncio.ensure_future(client.resolve("token-b", "t1"))  # another caller: its own request
        for _ in range(100):
            if len(requests) >= 2:
                break
            await asyncio.sleep(0.01)
        lookups[0].cancel()  # a caller giving up does not cancel the request the others wait for
        release.set()
        contexts = await asyncio.gather(*lookups[1:], other)
        again = await client.resolve("token-a", "t1")  # cached now
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()
    assert {c.user_id for c in contexts} == {"u1"} and again.user_id == "u1"
    assert len(requests) == 2, f"{len(requests)} requests for two callers"
