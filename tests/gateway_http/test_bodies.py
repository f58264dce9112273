"""gateway/http/bodies.py: a data-only outcome is encoded once, whatever the number of requests it answers
(coalesced requests share one outcome: gateway/coalescing.py); anything with errors is encoded per request."""

from __future__ import annotations

import orjson

from gateway.contracts import ExecutionOutcome
from gateway.http.bodies import EncodedBody, graphql_json, response_body
from gateway.incremental import IncrementalOutcome


def test_a_data_only_outcome_is_encoded_once() -> None:
    outcome = ExecutionOutcome(data={"b": [1, 2], "a": {"x": None}}, operation_type="query")
    first, second = response_body(outcome), response_body(outcome)
    assert isinstance(first, EncodedBody) and isinstance(second, EncodedBody)
    assert first == second == {"data": {"b": [1, 2], "a": {"x": None}}}
    assert first.encoded is second.encoded is outcome.encoded
    assert orjson.loads(first.encoded) == {"data": {"b": [1, 2], "a": {"x": None}}}
    response = graphql_json(first, 200, "application/json", {}, "req-1")
    assert response.body == first.encoded
    assert response.headers["x-request-id"] == "req-1"
    assert response.headers["content-type"] == "application/json; charset=utf-8"


def test_errors_extensions_and_incremental_bodies_are_encoded_per_request() -> None:
    failed = ExecutionOutcome(data={"a": None}, errors=[{"message": "no", "extensions": {"code": "X"}}])
    body = response_body(failed)
    assert type(body) is dict and failed.encoded is None
    for request_id in ("one", "two"):
        sent = orjson.loads(graphql_json(body, 200, "application/json", {}, request_id).body)
        assert sent["errors"] == [{"message": "no", "extensions": {"code": "X", "requestId": request_id}}]
    with_cost = ExecutionOutcome(data={"a": 1}, extensions={"cost": {"estimated": 1}})
    assert type(response_body(with_cost)) is dict
    refused = ExecutionOutcome(errors=[{"message": "bad"}], request_error=True)
    assert response_body(refused) == {"errors": [{"message": "bad"}]}
    first = response_body(IncrementalOutcome(data={"a": 1}))
    assert type(first) is dict and first == {"data": {"a": 1}, "hasNext": True}
