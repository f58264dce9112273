"""JSON array batches at ``/graphql``: off by default, a maximum size, answers in order, each operation
on its own (persisted ids, rate limit, errors), against a real gateway reaching a real subgraph."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.support.oidc_issuer import OidcIssuer
from tests.support.request_id import expected, tagged

from .conftest import trusting
from .harness import SDL_V1, EchoSubgraph, RunningGateway, running_gateway


def post(gw: RunningGateway, body: object) -> httpx.Response:
    return httpx.post(gw.graphql, content=orjson.dumps(body), headers={"content-type": "application/json"})


@pytest.fixture(scope="module")
def batching(
    tmp_path_factory: pytest.TempPathFactory, echo_subgraph: EchoSubgraph, token_issuer: OidcIssuer
) -> Iterator[RunningGateway]:
    with running_gateway(
        tmp_path_factory.mktemp("batching"),
        SDL_V1,
        echo_url=f"{echo_subgraph.url}/graphql",
        auth_issuers=trusting(token_issuer),
        batching_enabled=True,
        batching_max_size=4,
    ) as gw:
        yield gw


def test_batches_are_off_by_default(tmp_path: Path, token_issuer: OidcIssuer) -> None:
    with running_gateway(tmp_path, SDL_V1, auth_issuers=trusting(token_issuer)) as gw:
        response = post(gw, [{"query": "{ hello }"}])
        assert response.status_code == 400
        assert response.json() == expected(
            {"errors": [{"message": "Batched requests are not supported", "extensions": {"code": "BAD_REQUEST"}}]},
            response,
        )


def test_answers_come_in_order(batching: RunningGateway) -> None:
    names = ["a", "b", "c", "d"]
    response = post(batching, [{"query": f'{{ hello(name: "{n}") }}'} for n in names])
    assert response.status_code == 200
    assert response.json() == [{"data": {"hello": f"hello {n}"}} for n in names]


def test_each_operation_reaches_the_subgraph(batching: RunningGateway) -> None:
    response = post(batching, [{"query": "{ forwarded }"}, {"query": "query V { version }", "operationName": "V"}])
    first, second = response.json()
    assert "x-forwarded-for" in orjson.loads(first["data"]["forwarded"])
    assert second == {"data": {"version": "v1"}}


def test_a_batch_with_bad_operations_answers_each_on_its_own(batching: RunningGateway) -> None:
    response = post(
        batching,
        [
            {"query": "{ hello }"},
            {"query": "{ nope }"},
            "not an object",
            {"variables": {}},
        ],
    )
    assert response.status_code == 200
    good, invalid, not_object, missing = response.json()
    request_id = response.headers["x-request-id"]  # one request: its operations' errors carry its id
    assert good == {"data": {"hello": "hello world"}}
    assert "Cannot query field 'nope'" in invalid["errors"][0]["message"]
    assert invalid["errors"][0]["extensions"]["requestId"] == request_id
    assert not_object == tagged(
        {"errors": [{"message": "The request body must be a JSON object", "extensions": {"code": "BAD_REQUEST"}}]},
        request_id,
    )
    assert missing == tagged(
        {"errors": [{"message": "Missing query", "extensions": {"code": "BAD_REQUEST"}}]}, request_id
    )


def test_too_large_and_empty_batches_are_400(batching: RunningGateway) -> None:
    response = post(batching, [{"query": "{ hello }"}] * 5)
    assert response.status_code == 400
    assert response.json() == expected(
        {
            "errors": [
                {"message": "A batch may hold at most 4 operations", "extensions": {"code": "BATCH_LIMIT_EXCEEDED"}}
            ]
        },
        response,
    )
    empty = post(batching, [])
    assert empty.status_code == 400
    assert empty.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_persisted_queries_inside_a_batch(batching: RunningGateway) -> None:
    query = 'query InBatch { hello(name: "batched") }'
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(query.encode()).hexdigest()}}
    miss, registered = post(batching, [{"extensions": extensions}, {"query": query, "extensions": extensions}]).json()
    assert miss["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert registered == {"data": {"hello": "hello batched"}}
    assert post(batching, [{"extensions": extensions}]).json() == [{"data": {"hello": "hello batched"}}]


def test_mutations_in_a_batch_run_over_post(batching: RunningGateway) -> None:
    assert post(batching, [{"query": "mutation { bump }"}]).json() == [{"data": {"bump": 1}}]


def test_each_operation_counts_against_the_rate_limit(tmp_path: Path, token_issuer: OidcIssuer) -> None:
    with running_gateway(
        tmp_path,
        SDL_V1,
        auth_issuers=trusting(token_issuer),
        batching_enabled=True,
        rate_limit_anonymous=3,
        rate_limit_window=60,
    ) as gw:
        answers: list[dict[str, Any]] = post(gw, [{"query": "{ hello }"}] * 5).json()
        codes = [a["errors"][0]["extensions"]["code"] if "errors" in a else "OK" for a in answers]
        assert sorted(codes) == ["OK", "OK", "OK", "RATE_LIMITED", "RATE_LIMITED"]
        assert post(gw, {"query": "{ hello }"}).status_code == 429


def test_the_codes_of_a_batch_are_counted(batching: RunningGateway) -> None:
    def count(code: str) -> float:
        text = httpx.get(f"{batching.url}/metrics").text
        for line in text.splitlines():
            if line.startswith("gateway_errors_total{") and f'code="{code}"' in line:
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = count("PERSISTED_QUERY_NOT_FOUND")
    unknown = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    post(batching, [{"extensions": unknown}, {"query": "{ hello }"}, {"extensions": unknown}])
    assert count("PERSISTED_QUERY_NOT_FOUND") == before + 2
