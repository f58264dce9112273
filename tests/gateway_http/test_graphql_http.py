"""GraphQL over HTTP at ``/graphql``: media types, status codes, error bodies, headers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.support.oidc_issuer import OidcIssuer
from tests.support.request_id import checked, expected

from .conftest import trusting
from .harness import SDL_V1, EchoSubgraph, RunningGateway, running_gateway

GQL_RESPONSE = "application/graphql-response+json"


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, echo_subgraph: EchoSubgraph, token_issuer: OidcIssuer
) -> Iterator[RunningGateway]:
    """One gateway in development mode with a small body limit, shared by this module."""
    tmp: Path = tmp_path_factory.mktemp("edge")
    with running_gateway(
        tmp,
        SDL_V1,
        echo_url=f"{echo_subgraph.url}/graphql",
        development=True,
        max_body_bytes=2048,
        auth_issuers=trusting(token_issuer),
    ) as gw:
        yield gw


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    """A plain HTTP client (no default Accept header, so each test states its own)."""
    with httpx.Client(timeout=30) as c:
        c.headers.pop("accept", None)
        yield c


def post(client: httpx.Client, gw: RunningGateway, body: object, accept: str | None = None) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if accept is not None:
        headers["accept"] = accept
    return client.post(gw.graphql, content=orjson.dumps(body), headers=headers)


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert "data" not in body
    assert len(body["errors"]) == 1
    return str(body["errors"][0]["extensions"]["code"])


def test_post_query_answers_application_json_by_default(gateway: RunningGateway, client: httpx.Client) -> None:
    response = post(client, gateway, {"query": "{ hello }"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == {"data": {"hello": "hello world"}}


def test_post_with_variables_and_operation_name(gateway: RunningGateway, client: httpx.Client) -> None:
    body = {
        "query": "query A($n: String) { hello(name: $n) } query B { version }",
        "variables": {"n": "ada"},
        "operationName": "A",
    }
    response = post(client, gateway, body, accept=GQL_RESPONSE)
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{GQL_RESPONSE}; charset=utf-8"
    assert response.json() == {"data": {"hello": "hello ada"}}


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/json", "application/json"),
        (GQL_RESPONSE, GQL_RESPONSE),
        ("*/*", "application/json"),
        ("application/*", "application/json"),
        (f"application/json, {GQL_RESPONSE}", GQL_RESPONSE),
        (f"application/json;q=1, {GQL_RESPONSE};q=0.5", "application/json"),
        (f"{GQL_RESPONSE};charset=utf-8, application/json;q=0.9", GQL_RESPONSE),
        ("text/html, */*;q=0.1", "application/json"),
    ],
)
def test_accept_negotiation(gateway: RunningGateway, client: httpx.Client, accept: str, expected: str) -> None:
    response = post(client, gateway, {"query": "{ hello }"}, accept=accept)
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{expected}; charset=utf-8"


@pytest.mark.parametrize("accept", ["text/html", "application/xml, text/plain", "application/json;q=0"])
def test_unacceptable_accept_is_406(gateway: RunningGateway, client: httpx.Client, accept: str) -> None:
    response = post(client, gateway, {"query": "{ hello }"}, accept=accept)
    assert response.status_code == 406
    assert error_code(response) == "NOT_ACCEPTABLE"


@pytest.mark.parametrize(
    ("query", "message_part"),
    [("{ hello", "Syntax Error"), ("{ nope }", "Cannot query field 'nope'")],
)
def test_parse_and_validation_failures(
    gateway: RunningGateway, client: httpx.Client, query: str, message_part: str
) -> None:
    strict = post(client, gateway, {"query": query}, accept=GQL_RESPONSE)
    assert strict.status_code == 400
    assert strict.headers["content-type"] == f"{GQL_RESPONSE}; charset=utf-8"
    body = checked(strict)  # each error's extensions.requestId is the response's x-request-id
    assert "data" not in body
    assert message_part in body["errors"][0]["message"]

    legacy = post(client, gateway, {"query": query}, accept="application/json")
    assert legacy.status_code == 200
    assert checked(legacy) == body


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "The request body is not valid JSON"),
        (b"", "The request body is not valid JSON"),
        (b'"a string"', "The request body must be a JSON object"),
        (b'[{"query": "{ hello }"}]', "Batched requests are not supported"),
        (b"{}", "Missing query"),
        (b'{"query": ""}', "Missing query"),
        (b'{"query": 42}', "query must be a string"),
        (b'{"query": "{ hello }", "variables": [1]}', "variables must be a JSON object"),
        (b'{"query": "{ hello }", "variables": "{}"}', "variables must be a JSON object"),
        (b'{"query": "{ hello }", "operationName": 1}', "operationName must be a string"),
        (b'{"query": "{ hello }", "extensions": 1}', "extensions must be a JSON object"),
    ],
)
@pytest.mark.parametrize("accept", ["application/json", GQL_RESPONSE])
def test_malformed_requests_are_400(
    gateway: RunningGateway, client: httpx.Client, content: bytes, message: str, accept: str
) -> None:
    response = client.post(
        gateway.graphql, content=content, headers={"content-type": "application/json", "accept": accept}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == f"{accept}; charset=utf-8"
    bad_request = {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}
    assert response.json() == expected(bad_request, response)


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/graphql", "application/json; charset=latin-1"]
)
def test_unsupported_content_type_is_415(
    gateway: RunningGateway, client: httpx.Client, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post(gateway.graphql, content=b'{"query": "{ hello }"}', headers=headers)
    assert response.status_code == 415
    assert error_code(response) == "UNSUPPORTED_MEDIA_TYPE"


def test_json_with_utf8_charset_is_accepted(gateway: RunningGateway, client: httpx.Client) -> None:
    response = client.post(
        gateway.graphql,
        content=b'{"query": "{ hello }"}',
        headers={"content-type": "application/json; charset=UTF-8"},
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"hello": "hello world"}}


def test_oversize_body_with_content_length_is_413(gateway: RunningGateway, client: httpx.Client) -> None:
    query = "{ hello }" + " " * 4096
    response = post(client, gateway, {"query": query})
    assert response.status_code == 413
    assert response.json() == expected(
        {"errors": [{"message": "The request body exceeds 2048 bytes", "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]},
        response,
    )


def test_oversize_chunked_body_is_413(gateway: RunningGateway, client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"query": "{ hello }'
        for _ in range(10):
            yield b" " * 1024
        yield b'"}'

    response = client.post(gateway.graphql, content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert error_code(response) == "PAYLOAD_TOO_LARGE"


def test_get_query(gateway: RunningGateway, client: httpx.Client) -> None:
    response = client.get(
        gateway.graphql,
        params={"query": "query Q($n: String) { hello(name: $n) }", "variables": '{"n": "bob"}'},
        headers={"accept": GQL_RESPONSE},
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"hello": "hello bob"}}


@pytest.mark.parametrize("accept", ["application/json", GQL_RESPONSE])
def test_get_mutation_is_405(gateway: RunningGateway, client: httpx.Client, accept: str) -> None:
    response = client.get(gateway.graphql, params={"query": "mutation { bump }"}, headers={"accept": accept})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == expected(
        {
            "errors": [
                {
                    "message": "Only queries are allowed over GET; send the mutation with POST",
                    "extensions": {"code": "METHOD_NOT_ALLOWED"},
                }
            ]
        },
        response,
    )


def test_post_mutation_runs(gateway: RunningGateway, client: httpx.Client) -> None:
    response = post(client, gateway, {"query": "mutation { bump }"})
    assert response.status_code == 200
    assert response.json() == {"data": {"bump": 1}}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "Missing query: pass it in the query parameter"),
        ({"query": "{ hello }", "variables": "{nope"}, "variables is not valid JSON"),
        ({"query": "{ hello }", "variables": "[1]"}, "variables must be a JSON object"),
        ({"query": "{ hello }", "extensions": "3"}, "extensions must be a JSON object"),
    ],
)
def test_bad_get_requests_are_400(
    gateway: RunningGateway, client: httpx.Client, params: dict[str, str], message: str
) -> None:
    response = client.get(gateway.graphql, params=params)
    assert response.status_code == 400
    bad_request = {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}
    assert response.json() == expected(bad_request, response)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_are_405(gateway: RunningGateway, client: httpx.Client, method: str) -> None:
    response = client.request(method, gateway.graphql)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert error_code(response) == "METHOD_NOT_ALLOWED"


def test_runtime_crash_answers_500_without_details(
    gateway: RunningGateway, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    response = client.post(
        gateway.graphql,
        content=orjson.dumps({"query": "query Crash { hello }", "operationName": "Crash"}),
        headers={"content-type": "application/json", "x-request-id": "req-crash-1"},
    )
    assert response.status_code == 500
    assert response.json() == {
        "errors": [
            {
                "message": "Internal server error",
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-crash-1"},
            }
        ]
    }
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["x-request-id"] == "req-crash-1"
    # The server log keeps what the client does not see, under the same request id.
    assert "request req-crash-1: unhandled error" in caplog.text
    assert "secret internal detail" in caplog.text


def test_debug_plan_header_in_development_mode(gateway: RunningGateway, client: httpx.Client) -> None:
    response = client.post(
        gateway.graphql,
        content=b'{"query": "{ hello }"}',
        headers={"content-type": "application/json", "x-gateway-debug-plan": "true"},
    )
    assert response.status_code == 200
    assert response.json() == {
        "data": {"hello": "hello world"},
        "extensions": {"queryPlan": {"kind": "Local", "operation": "query"}},
    }
    without = post(client, gateway, {"query": "{ hello }"})
    assert "extensions" not in without.json()


def test_debug_plan_header_ignored_outside_development(tmp_path: Path, client: httpx.Client) -> None:
    with running_gateway(tmp_path, SDL_V1, development=False) as gw:
        response = client.post(
            gw.graphql,
            content=b'{"query": "{ hello }"}',
            headers={"content-type": "application/json", "x-gateway-debug-plan": "true"},
        )
    assert response.status_code == 200
    assert response.json() == {"data": {"hello": "hello world"}}


def test_configured_headers_are_forwarded_to_subgraphs(
    gateway: RunningGateway, client: httpx.Client, token_issuer: OidcIssuer
) -> None:
    token = token_issuer.issue()
    response = client.post(
        gateway.graphql,
        content=b'{"query": "{ forwarded }"}',
        headers={
            "content-type": "application/json",
            "authorization": f"Bearer {token}",
            "x-request-id": "req-42",
            "cookie": "session=secret",
            "x-other": "nope",
        },
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-42"
    seen = orjson.loads(response.json()["data"]["forwarded"])
    assert seen["authorization"] == f"Bearer {token}"
    assert seen["x-request-id"] == "req-42"
    assert seen["content-type"] == "application/json"
    assert "cookie" not in seen
    assert "x-other" not in seen


def test_generated_request_id_is_echoed_and_forwarded(gateway: RunningGateway, client: httpx.Client) -> None:
    response = post(client, gateway, {"query": "{ forwarded }"})
    request_id = response.headers["x-request-id"]
    assert len(request_id) == 32
    seen = orjson.loads(response.json()["data"]["forwarded"])
    assert seen["x-request-id"] == request_id
    assert "authorization" not in seen


def test_unsafe_request_id_is_replaced(gateway: RunningGateway, client: httpx.Client) -> None:
    response = client.post(
        gateway.graphql,
        content=b'{"query": "{ hello }"}',
        headers={"content-type": "application/json", "x-request-id": "bad id\twith spaces"},
    )
    assert response.headers["x-request-id"] != "bad id\twith spaces"
    assert len(response.headers["x-request-id"]) == 32


def test_forward_allow_list_is_configurable(
    tmp_path: Path, client: httpx.Client, echo_subgraph: EchoSubgraph, token_issuer: OidcIssuer
) -> None:
    with running_gateway(
        tmp_path,
        SDL_V1,
        echo_url=f"{echo_subgraph.url}/graphql",
        forward_headers="X-Tenant, Content-Length",
        auth_issuers=trusting(token_issuer),
    ) as gw:
        response = client.post(
            gw.graphql,
            content=b'{"query": "{ forwarded }"}',
            headers={
                "content-type": "application/json",
                "x-tenant": "t1",
                "authorization": f"Bearer {token_issuer.issue()}",
            },
        )
    seen = orjson.loads(response.json()["data"]["forwarded"])
    assert seen["x-tenant"] == "t1"
    assert "authorization" not in seen
    assert "x-request-id" not in seen
    # content-length is never forwarded as-is: the subgraph body has its own length.
    assert seen["content-length"] != response.request.headers["content-length"]


def test_subgraph_failure_becomes_a_graphql_error(tmp_path: Path, client: httpx.Client) -> None:
    from .harness import closed_port

    with closed_port() as port, running_gateway(tmp_path, SDL_V1, echo_url=f"http://127.0.0.1:{port}/graphql") as gw:
        response = post(client, gw, {"query": "{ hello forwarded }"})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"hello": "hello world", "forwarded": None}
    assert body["errors"][0]["message"] == "could not connect"
    assert body["errors"][0]["path"] == ["forwarded"]


def test_unknown_path_is_404(gateway: RunningGateway, client: httpx.Client) -> None:
    assert client.get(f"{gateway.url}/nope").status_code == 404
