"""Automatic Persisted Queries (Apollo protocol) at the HTTP edge: a real gateway on loopback, the
``forwarded`` field reaching a real subgraph server, the in-memory store and Redis shared by two gateways."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from gateway.persisted import MemoryStore
from tests.support.oidc_issuer import OidcIssuer
from tests.support.redis import RedisServer
from tests.support.request_id import expected

from .conftest import trusting
from .harness import SDL_V1, EchoSubgraph, RunningGateway, running_gateway

GQL_RESPONSE = "application/graphql-response+json"
QUERY = "query Hello { hello forwarded }"


def sha(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def apq(query_hash: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": query_hash}}


def post(gw: RunningGateway, body: object, accept: str = "application/json") -> httpx.Response:
    return httpx.post(
        gw.graphql, content=orjson.dumps(body), headers={"content-type": "application/json", "accept": accept}
    )


def get(gw: RunningGateway, params: dict[str, str], accept: str = "application/json") -> httpx.Response:
    return httpx.get(gw.graphql, params=params, headers={"accept": accept})


def code_of(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, echo_subgraph: EchoSubgraph, token_issuer: OidcIssuer
) -> Iterator[RunningGateway]:
    with running_gateway(
        tmp_path_factory.mktemp("apq"),
        SDL_V1,
        echo_url=f"{echo_subgraph.url}/graphql",
        auth_issuers=trusting(token_issuer),
    ) as gw:
        yield gw


def test_apq_round_trip_miss_register_then_hit_over_get_and_post(gateway: RunningGateway) -> None:
    query = "query Round { hello forwarded }"
    extensions = apq(sha(query))
    miss = post(gateway, {"extensions": extensions})
    assert miss.status_code == 200
    assert miss.json() == expected(
        {"errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]},
        miss,
    )
    # graphql-response+json clients see the same error with 400 (nothing ran)
    assert post(gateway, {"extensions": extensions}, GQL_RESPONSE).status_code == 400
    registered = post(gateway, {"query": query, "extensions": extensions})
    assert registered.status_code == 200
    data = registered.json()["data"]
    assert data["hello"] == "hello world"
    assert "x-forwarded-for" in orjson.loads(data["forwarded"])  # the subgraph was reached
    by_post = post(gateway, {"extensions": extensions})
    assert by_post.status_code == 200 and by_post.json()["data"]["hello"] == "hello world"
    by_get = get(gateway, {"extensions": orjson.dumps(extensions).decode()})
    assert by_get.status_code == 200 and by_get.json()["data"]["hello"] == "hello world"


def test_apq_get_registration_and_variables(gateway: RunningGateway) -> None:
    query = "query Named($name: String) { hello(name: $name) }"
    extensions = orjson.dumps(apq(sha(query))).decode()
    assert code_of(get(gateway, {"extensions": extensions})) == "PERSISTED_QUERY_NOT_FOUND"
    first = get(gateway, {"query": query, "extensions": extensions, "variables": '{"name": "apq"}'})
    assert first.json() == {"data": {"hello": "hello apq"}}
    again = get(gateway, {"extensions": extensions, "variables": '{"name": "cdn"}'})
    assert again.json() == {"data": {"hello": "hello cdn"}}


def test_apq_mutation_by_hash_is_refused_over_get(gateway: RunningGateway) -> None:
    mutation = "mutation Bump { bump }"
    extensions = apq(sha(mutation))
    assert post(gateway, {"query": mutation, "extensions": extensions}).json() == {"data": {"bump": 1}}
    refused = get(gateway, {"extensions": orjson.dumps(extensions).decode()})
    assert refused.status_code == 405
    assert code_of(refused) == "METHOD_NOT_ALLOWED"


def test_apq_hash_mismatch_is_refused_and_not_stored(gateway: RunningGateway) -> None:
    wrong = sha("{ version }")
    response = post(gateway, {"query": "{ hello }", "extensions": apq(wrong)})
    assert response.status_code == 200
    assert response.json() == expected(
        {
            "errors": [
                {
                    "message": "provided sha does not match query",
                    "extensions": {"code": "PERSISTED_QUERY_HASH_MISMATCH"},
                }
            ]
        },
        response,
    )
    assert code_of(post(gateway, {"extensions": apq(wrong)})) == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    ("extensions", "message"),
    [
        ({"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}}, "Unsupported persisted query version"),
        ({"persistedQuery": {"version": 1, "sha256Hash": "abc"}}, "persistedQuery.sha256Hash must be"),
        ({"persistedQuery": "x"}, "Unsupported persisted query version"),
    ],
)
def test_malformed_persisted_query_extension_is_bad_request(
    gateway: RunningGateway, extensions: dict[str, Any], message: str
) -> None:
    response = post(gateway, {"extensions": extensions})
    assert code_of(response) == "BAD_REQUEST"
    assert response.json()["errors"][0]["message"].startswith(message)


def test_apq_off_answers_not_supported(tmp_path: Path, echo_subgraph: EchoSubgraph, token_issuer: OidcIssuer) -> None:
    with running_gateway(tmp_path, SDL_V1, apq_enabled=False, auth_issuers=trusting(token_issuer)) as gw:
        query = "{ hello }"
        for body in ({"extensions": apq(sha(query))}, {"query": query, "extensions": apq(sha(query))}):
            response = post(gw, body)
            assert response.json() == expected(
                {
                    "errors": [
                        {
                            "message": "PersistedQueryNotSupported",
                            "extensions": {"code": "PERSISTED_QUERY_NOT_SUPPORTED"},
                        }
                    ]
                },
                response,
            )
        assert post(gw, {"query": query}).json() == {"data": {"hello": "hello world"}}


def test_bounded_store_evicts_least_recently_used_by_entries(tmp_path: Path, token_issuer: OidcIssuer) -> None:
    with running_gateway(tmp_path, SDL_V1, apq_max_entries=2, auth_issuers=trusting(token_issuer)) as gw:
        queries = [f'query Q{i} {{ hello(name: "{i}") }}' for i in range(3)]
        for query in queries[:2]:
            assert "data" in post(gw, {"query": query, "extensions": apq(sha(query))}).json()
        assert "data" in post(gw, {"extensions": apq(sha(queries[0]))}).json()  # Q0 is now the most recent
        assert "data" in post(gw, {"query": queries[2], "extensions": apq(sha(queries[2]))}).json()
        assert code_of(post(gw, {"extensions": apq(sha(queries[1]))})) == "PERSISTED_QUERY_NOT_FOUND"
        assert "data" in post(gw, {"extensions": apq(sha(queries[0]))}).json()
        assert "data" in post(gw, {"extensions": apq(sha(queries[2]))}).json()


async def test_memory_store_is_bounded_by_bytes() -> None:
    store = MemoryStore(max_entries=1000, max_bytes=1000)
    for i in range(10):
        await store.put(f"{i:064x}", "x" * 200)
    entries, held = store.size
    assert held <= 1000 and entries == 3  # 264 bytes each
    assert await store.get(f"{0:064x}") is None
    assert await store.get(f"{9:064x}") == "x" * 200
    await store.put("f" * 64, "y" * 5000)  # larger than the whole store: not kept, nothing evicted
    assert store.size == (entries, held)


def test_redis_store_is_shared_by_two_gateways(
    tmp_path: Path, redis_server: RedisServer, token_issuer: OidcIssuer
) -> None:
    url = redis_server.fresh_url()
    query = 'query Shared { hello(name: "replica") }'
    extensions = apq(sha(query))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        running_gateway(tmp_path / "a", SDL_V1, redis_url=url, auth_issuers=trusting(token_issuer)) as first,
        running_gateway(tmp_path / "b", SDL_V1, redis_url=url, auth_issuers=trusting(token_issuer)) as second,
    ):
        assert code_of(post(second, {"extensions": extensions})) == "PERSISTED_QUERY_NOT_FOUND"
        assert post(first, {"query": query, "extensions": extensions}).json() == {"data": {"hello": "hello replica"}}
        hit = get(second, {"extensions": orjson.dumps(extensions).decode()})
        assert hit.json() == {"data": {"hello": "hello replica"}}
    import redis

    client = redis.Redis.from_url(url)
    try:
        ttl = client.ttl(f"dpp:apq:{sha(query)}")
        assert 0 < ttl <= 86_400
    finally:
        client.close()


def test_a_document_that_does_not_validate_is_not_registered(gateway: RunningGateway) -> None:
    invalid = "query Invalid { nope }"
    response = post(gateway, {"query": invalid, "extensions": apq(sha(invalid))})
    assert "Cannot query field 'nope'" in response.json()["errors"][0]["message"]
    assert "data" not in response.json()
    assert code_of(post(gateway, {"extensions": apq(sha(invalid))})) == "PERSISTED_QUERY_NOT_FOUND"
