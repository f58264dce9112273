"""The aiohttp subgraph transport against a real loopback subgraph server."""

from __future__ import annotations

import asyncio

from gateway.contracts import SubgraphResponse
from gateway.settings import Settings
from gateway.transport import HTTPTransport

from .harness import EchoSubgraph, closed_port

PAYLOAD = {"query": "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }", "variables": {"r": []}}


async def test_posts_json_and_decodes_the_answer(echo_subgraph: EchoSubgraph) -> None:
    async with HTTPTransport() as transport:
        answer = await transport.fetch(
            "echo",
            f"{echo_subgraph.url}/graphql",
            PAYLOAD,
            {"authorization": "Bearer t", "Content-Type": "text/evil", "host": "evil.example", "accept": "x/y"},
        )
    assert answer.error is None
    assert answer.status == 200
    assert answer.body is not None
    data = answer.body["data"]
    assert data["body"] == PAYLOAD
    headers = data["headers"]
    assert headers["authorization"] == "Bearer t"
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "application/graphql-response+json, application/json;q=0.9"
    assert headers["host"] == echo_subgraph.url.removeprefix("http://")


async def test_connections_are_kept_alive_and_reused(echo_subgraph: EchoSubgraph) -> None:
    async with HTTPTransport() as transport:
        ports = set()
        for _ in range(5):
            answer = await transport.fetch("echo", f"{echo_subgraph.url}/graphql", PAYLOAD, {})
            assert answer.body is not None
            ports.add(answer.body["data"]["clientPort"])
    assert len(ports) == 1


async def test_concurrent_requests_share_a_bounded_pool(echo_subgraph: EchoSubgraph) -> None:
    async with HTTPTransport(max_connections=2) as transport:
        answers = await asyncio.gather(
            *(transport.fetch("echo", f"{echo_subgraph.url}/graphql", PAYLOAD, {}) for _ in range(20))
        )
    assert all(a.error is None for a in answers)
    assert len({a.body["data"]["clientPort"] for a in answers if a.body}) <= 2


async def test_connection_refused_becomes_an_error() -> None:
    with closed_port() as port:
        async with HTTPTransport() as transport:
            answer = await transport.fetch("catalog", f"http://127.0.0.1:{port}/graphql", PAYLOAD, {})
    assert answer == SubgraphResponse(body=None, status=0, error="could not connect")


async def test_per_subgraph_timeout(echo_subgraph: EchoSubgraph) -> None:
    async with HTTPTransport(default_timeout=30, timeouts={"slow": 0.2}) as transport:
        assert transport.timeout_for("slow") == 0.2
        assert transport.timeout_for("other") == 30
        answer = await transport.fetch("slow", f"{echo_subgraph.url}/slow", PAYLOAD, {})
    assert answer == SubgraphResponse(body=None, status=0, error="timed out after 0.2s")


async def test_non_graphql_error_status_becomes_an_error(echo_subgraph: EchoSubgraph) -> None:
    async with HTTPTransport() as transport:
        answer = await transport.fetch("inventory", f"{echo_subgraph.url}/broken", PAYLOAD, {})
    assert answer == SubgraphResponse(body=None, status=502, error="HTTP 502")


async def test_non_json_success_becomes_an_error(echo_subgraph: EchoSubgraph) -> None:
    async with HTTPTransport() as transport:
        answer = await transport.fetch("inventory", f"{echo_subgraph.url}/notjson", PAYLOAD, {})
    assert answer == SubgraphResponse(body=None, status=200, error="answered something that is not a GraphQL response")


async def test_graphql_error_body_with_4xx_is_passed_on(echo_subgraph: EchoSubgraph) -> None:
    async with HTTPTransport() as transport:
        answer = await transport.fetch("inventory", f"{echo_subgraph.url}/invalid", PAYLOAD, {})
    assert answer == SubgraphResponse(body={"errors": [{"message": "Cannot query field"}]}, status=400)


async def test_unencodable_payload_becomes_an_error(echo_subgraph: EchoSubgraph) -> None:
    async with HTTPTransport() as transport:
        answer = await transport.fetch("echo", f"{echo_subgraph.url}/graphql", {"query": object()}, {})
    assert answer.body is None
    assert answer.error == "could not encode the request"


async def test_from_settings_and_reuse_after_close(echo_subgraph: EchoSubgraph) -> None:
    settings = Settings.from_mapping({"default_timeout": 7, "subgraph_timeouts": {"a": 1.5}, "max_connections": 3})
    transport = HTTPTransport.from_settings(settings)
    assert transport.timeout_for("a") == 1.5
    assert transport.timeout_for("b") == 7
    first = await transport.fetch("echo", f"{echo_subgraph.url}/graphql", PAYLOAD, {})
    await transport.aclose()
    second = await transport.fetch("echo", f"{echo_subgraph.url}/graphql", PAYLOAD, {})
    await transport.aclose()
    assert first.error is None
    assert second.error is None
