"""`make run`'s stack, end to end: dpp-stack migrates, seeds and serves four subgraphs and the
gateway; a query through the gateway crosses all four; Ctrl-C stops everything cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from subgraphs.common import demo
from subgraphs.common.settings import SERVICE_NAMES
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]

CROSS_QUERY = """
query Passports($first: Int!) {
  passports(first: $first) {
    totalCount
    edges { node {
      name status
      tenant { name type }
      product { name sku category { name parent { name } templates { name } } passportCount }
      template { name version status fields { key access } }
    } }
  }
}
"""


class Stack:
    def __init__(self, gateway: str, process: subprocess.Popen[bytes], ports: dict[str, int]) -> None:
        self.gateway = gateway
        self.process = process
        self.ports = ports

    def gql(self, query: str, variables: dict | None = None, token: str | None = None) -> dict:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = httpx.post(self.gateway, json={"query": query, "variables": variables or {}}, headers=headers)
        return response.json()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = {**os.environ, "DATA_DIR": str(tmp_path_factory.mktemp("stack")), "LOG_LEVEL": "warning"}
    for name in SERVICE_NAMES:
        port = free_port()
        env[f"{name.upper()}_PORT"] = str(port)
        env[f"GATEWAY_SUBGRAPH_{name.upper()}_URL"] = f"http://127.0.0.1:{port}/graphql"
    # identity signs with its own address as issuer; the subgraphs and the gateway trust that issuer
    env["ISSUER_URL"] = f"http://127.0.0.1:{env['IDENTITY_PORT']}"
    env["GATEWAY_PORT"] = str(free_port())
    env["GATEWAY_SUPERGRAPH"] = str(ROOT / "schema" / "supergraph.graphql")
    process = subprocess.Popen(
        [sys.executable, "-c", "from subgraphs.cli import stack_main; raise SystemExit(stack_main())"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    gateway = f"http://127.0.0.1:{env['GATEWAY_PORT']}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(gateway + "/health").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            output = process.stdout.read().decode() if process.stdout else ""
            process.kill()
            pytest.fail(f"stack did not come up:\n{output[-3000:]}")
        time.sleep(0.3)
    ports = {name: int(env[f"{name.upper()}_PORT"]) for name in SERVICE_NAMES}
    stack = Stack(gateway + "/graphql", process, ports)
    yield stack
    if process.poll() is None:
        process.kill()
        process.wait()


def _login(stack: Stack, email: str, password: str) -> str:
    body = stack.gql(
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }",
        {"e": email, "p": password},
    )
    return body["data"]["login"]["accessToken"]


def test_a_query_crosses_all_four_subgraphs(stack: Stack) -> None:
    token = _login(stack, "admin@acme.example", "Acme-Admin-2026")
    body = stack.gql(CROSS_QUERY, {"first": 2}, token)
    assert "errors" not in body, body
    passports = body["data"]["passports"]
    assert passports["totalCount"] == len([p for p in demo.PASSPORTS if p.tenant_key == "acme"])
    first = passports["edges"][0]["node"]
    assert first["name"] == "ACME_CELL_PACK_01"
    assert first["status"] == "PUBLISHED"
    assert first["tenant"] == {"name": "Acme Batteries GmbH", "type": "MANUFACTURER"}
    assert first["product"] == {
        "name": "Cell Pack 01",
        "sku": "ACM-BAT-0000",
        "category": {"name": "Batteries", "parent": {"name": "Electronics"}, "templates": [{"name": "Product DPP"}]},
        "passportCount": 1,
    }
    template = first["template"]
    assert (template["name"], template["version"], template["status"]) == ("Product DPP", 1, "PUBLISHED")
    assert [f["key"] for f in template["fields"]] == [f.key for f in demo.PRODUCT_DPP_FIELDS]
    assert {f["access"] for f in template["fields"]} == {"PUBLIC", "RESTRICTED", "CONFIDENTIAL"}


def test_tenants_do_not_see_each_others_passports_through_the_gateway(stack: Stack) -> None:
    token = _login(stack, "admin@greenloop.example", "GreenLoop-Admin-2026")
    body = stack.gql(CROSS_QUERY, {"first": 50}, token)
    names = [edge["node"]["name"] for edge in body["data"]["passports"]["edges"]]
    assert names and all(name.startswith("GRL_") for name in names)


def test_anonymous_public_passport_shows_only_public_fields(stack: Stack) -> None:
    published = next(p for p in demo.PASSPORTS if p.name == "ACME_CELL_PACK_01")
    body = stack.gql(
        "query($u: String!) { publicPassport(uuid: $u) { name status fields { key } } }",
        {"u": published.public_uuid},
    )
    assert "errors" not in body, body
    keys = {field["key"] for field in body["data"]["publicPassport"]["fields"]}
    public = {f.key for f in demo.PRODUCT_DPP_FIELDS if f.access == "PUBLIC"}
    assert keys == public


def test_anonymous_private_queries_are_refused_by_the_gateway(stack: Stack) -> None:
    body = stack.gql("{ passports(first: 1) { totalCount } }")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHORIZED_FIELD_OR_TYPE"
    assert not (body.get("data") or {}).get("passports")


ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id name sku } } }"


def test_a_subgraph_called_directly_ignores_a_forged_tenant_header(stack: Stack) -> None:
    catalog = f"http://127.0.0.1:{stack.ports['catalog']}/graphql"
    product = next(p for p in demo.PRODUCTS if p.tenant_key == "acme")
    variables = {"r": [{"__typename": "Product", "id": product.id}]}
    payload = {"query": ENTITIES, "variables": variables}
    plain = httpx.post(catalog, json=payload)
    forged = httpx.post(catalog, json=payload, headers={"x-tenant-id": demo.tenant("acme").id})
    assert forged.status_code == plain.status_code == 200
    assert forged.json() == plain.json()  # the header alone changes nothing: still anonymous


def test_a_subgraph_checks_tokens_and_tenant_membership_itself(stack: Stack) -> None:
    catalog = f"http://127.0.0.1:{stack.ports['catalog']}/graphql"
    token = _login(stack, "admin@acme.example", "Acme-Admin-2026")
    query = {"query": "{ __typename }"}
    assert httpx.post(catalog, json=query, headers={"authorization": f"Bearer {token}"}).status_code == 200
    foreign = httpx.post(
        catalog, json=query, headers={"authorization": f"Bearer {token}", "x-tenant-id": demo.tenant("greenloop").id}
    )
    assert (foreign.status_code, foreign.json()["errors"][0]["extensions"]["code"]) == (403, "FORBIDDEN")
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    refused = httpx.post(catalog, json=query, headers={"authorization": f"Bearer {tampered}"})
    assert refused.status_code == 401
    assert refused.json() == {
        "errors": [{"message": "Invalid or expired token", "extensions": {"code": "UNAUTHENTICATED"}}]
    }


def test_ctrl_c_stops_the_whole_stack_cleanly(stack: Stack) -> None:
    stack.process.send_signal(signal.SIGINT)
    assert stack.process.wait(timeout=30) == 0
    with pytest.raises(httpx.TransportError):
        httpx.get(stack.gateway.replace("/graphql", "/health"), timeout=2)
