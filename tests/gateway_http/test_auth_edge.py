"""The authentication stage at the edge without identity (principal from the token's claims):
what reaches the runtime and the subgraphs, and the answers when an issuer cannot be reached."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from gateway.contracts import ANONYMOUS, ExecutionOutcome, GraphQLRequest, Principal, SubgraphTransport
from gateway.serve import build_app, build_server
from gateway.settings import Settings
from tests.support.oidc_issuer import OidcIssuer
from tests.support.request_id import expected

from .conftest import trusting
from .harness import SDL_V1, EchoSubgraph, LocalRuntime, RunningGateway, ServerThread, running_gateway


class PrincipalRuntime(LocalRuntime):
    """A runtime that takes the principal, as ``gateway.runtime.Gateway`` does, and answers it as ``version``."""

    async def execute(
        self,
        request: GraphQLRequest,
        *,
        transport: SubgraphTransport,
        headers: Mapping[str, str],
        include_plan: bool = False,
        allow_mutations: bool = True,
        principal: Principal = ANONYMOUS,
    ) -> ExecutionOutcome:
        outcome = await super().execute(
            request, transport=transport, headers=headers, include_plan=include_plan, allow_mutations=allow_mutations
        )
        if outcome.data is not None and "version" in outcome.data:
            outcome.data["version"] = orjson.dumps(
                {
                    "authenticated": principal.authenticated,
                    "scopes": sorted(principal.scopes),
                    "user": principal.user_id,
                    "tenant": principal.tenant_id,
                }
            ).decode()
        return outcome


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, echo_subgraph: EchoSubgraph, token_issuer: OidcIssuer
) -> Iterator[RunningGateway]:
    tmp: Path = tmp_path_factory.mktemp("auth-edge")
    path = tmp / "supergraph.graphql"
    path.write_text(SDL_V1)
    settings = Settings.from_mapping(
        {
            "supergraph": path,
            "log_level": "warning",
            "auth_issuers": trusting(token_issuer),
            "forward_headers": "authorization, x-tenant-id, x-request-id, x-forwarded-for",
        }
    )
    echo_url = f"{echo_subgraph.url}/graphql"
    app = build_app(settings, runtime_factory=lambda sdl: PrincipalRuntime(sdl, echo_url=echo_url))
    with ServerThread(app, build_server(settings, app)) as server:
        yield RunningGateway(url=server.url, supergraph=path, settings=settings)


def ask(gw: RunningGateway, query: str, token: str | None = None, **headers: str) -> httpx.Response:
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return httpx.post(
        gw.graphql,
        content=orjson.dumps({"query": query}),
        headers={"content-type": "application/json", **headers},
        timeout=30,
    )


def forwarded(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return dict(orjson.loads(response.json()["data"]["forwarded"]))


def test_the_runtime_gets_the_principal_of_the_token(gateway: RunningGateway, token_issuer: OidcIssuer) -> None:
    token = token_issuer.issue(sub="ada", tid="T1", scope="catalog:write openid")
    principal = orjson.loads(ask(gateway, "{ version }", token).json()["data"]["version"])
    assert principal == {"authenticated": True, "scopes": ["catalog:write", "openid"], "user": "ada", "tenant": "T1"}
    anonymous = orjson.loads(ask(gateway, "{ version }").json()["data"]["version"])
    assert anonymous == {"authenticated": False, "scopes": [], "user": None, "tenant": None}


def test_only_an_accepted_tenant_choice_is_forwarded(gateway: RunningGateway, token_issuer: OidcIssuer) -> None:
    token = token_issuer.issue(sub="ada", tid="T1")
    assert forwarded(ask(gateway, "{ forwarded }", token, **{"x-tenant-id": "T1"}))["x-tenant-id"] == "T1"
    # anonymous callers have no tenant to choose: the header stops at the edge
    assert "x-tenant-id" not in forwarded(ask(gateway, "{ forwarded }", **{"x-tenant-id": "T1"}))
    # without identity to ask, only the token's own tenant can be chosen
    refused = ask(gateway, "{ forwarded }", token, **{"x-tenant-id": "T2"})
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_x_forwarded_for_is_the_address_the_edge_saw(gateway: RunningGateway) -> None:
    # uvicorn trusts x-forwarded-for from loopback (FORWARDED_ALLOW_IPS): the client is the last hop
    seen = forwarded(ask(gateway, "{ forwarded }", **{"x-forwarded-for": "198.51.100.1, 203.0.113.9"}))
    assert seen["x-forwarded-for"] == "203.0.113.9"  # one address, not the client's chain
    assert forwarded(ask(gateway, "{ forwarded }"))["x-forwarded-for"] == "127.0.0.1"


def test_an_unreachable_issuer_is_503_not_401(tmp_path: Path, echo_subgraph: EchoSubgraph) -> None:
    with OidcIssuer(realm="flaky") as issuer:
        token = issuer.issue(tid="T1")
        issuer.state.available = False  # discovery and JWKS answer 503 before the gateway ever fetched them
        with running_gateway(tmp_path, SDL_V1, auth_issuers=trusting(issuer)) as gw:
            down = ask(gw, "{ hello }", token)
            issuer.state.available = True
            up = ask(gw, "{ hello }", token)
    assert down.status_code == 503
    assert down.json() == expected(
        {
            "errors": [
                {
                    "message": "Authentication is temporarily unavailable; try again shortly",
                    "extensions": {"code": "AUTHENTICATION_UNAVAILABLE"},
                }
            ]
        },
        down,
    )
    assert up.status_code == 200  # no key cached yet: every request tries again


def test_a_second_authorization_or_tenant_header_does_not_ride_along(
    gateway: RunningGateway, token_issuer: OidcIssuer
) -> None:
    token = token_issuer.issue(sub="ada", tid="T1")
    response = httpx.post(
        gateway.graphql,
        content=b'{"query": "{ forwarded }"}',
        headers=[
            ("content-type", "application/json"),
            ("authorization", f"Bearer {token}"),
            ("authorization", "Bearer forged"),
            ("x-tenant-id", "T1"),
            ("x-tenant-id", "T2"),
        ],
        timeout=30,
    )
    seen = forwarded(response)
    assert seen["authorization"] == f"Bearer {token}"  # what the edge verified, nothing appended
    assert seen["x-tenant-id"] == "T1"
