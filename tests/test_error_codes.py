"""Every GraphQL error a client can receive carries a stable ``extensions.code``.

Walks the error paths of each subgraph called directly (identity, catalog, templates,
passport) and of the gateway in front of them, on the test's backend: parse and
validation failures, bad input, not found, forbidden, unauthenticated, conflict,
operation limits, bad credentials, a foreign tenant header, a subgraph that is down.
Each case must answer with at least one error, and every error must have a code; every
error of the gateway also carries ``extensions.requestId``, its response's ``x-request-id``.
"""

from __future__ import annotations

from typing import Any

import httpx

from subgraphs.common import demo
from tests.gateway_http.test_degrade import Federation, federation
from tests.support.fixtures import identity_issuers, issuer

__all__ = ["federation", "identity_issuers", "issuer"]

NO_SUCH_ID = "01NOSUCHTHING0000000000000"
PRODUCT = {"name": "Coded", "sku": "CODED-1", "categoryId": demo.CATEGORIES[1].id}
CREATE_PRODUCT = "mutation($p: ProductInput!) { createProduct(input: $p) { id } }"
ALIASES = "{ " + " ".join(f"a{i}: __typename" for i in range(3000)) + " }"
NULL_SKIP = "query($s: Boolean = false) { __schema { queryType { name @skip(if: $s) } } }"
DEEP = "{ categories { " + "parent { " * 40 + "id" + " }" * 40 + " } }"

# (name, query, variables, demo user or None) sent to one subgraph or to the gateway.
Case = tuple[str, str, dict[str, Any], str | None]

COMMON: list[Case] = [
    ("parse", "{", {}, None),
    ("unknown field", "{ noSuchField }", {}, "acme-viewer"),
    ("variable of the wrong type", "query($n: Int!) { __typename @skip(if: $n) }", {"n": "x"}, None),
    ("missing variable", "query($n: Boolean!) { __typename @include(if: $n) }", {}, None),
    ("null @skip condition", NULL_SKIP, {"s": None}, None),
    ("too many aliases", ALIASES, {}, None),
]
CATALOG: list[Case] = [
    ("anonymous write", CREATE_PRODUCT, {"p": PRODUCT}, None),
    ("viewer write", CREATE_PRODUCT, {"p": PRODUCT}, "acme-viewer"),
    ("bad input", CREATE_PRODUCT, {"p": {**PRODUCT, "name": "  "}}, "acme-manager"),
    ("not found", CREATE_PRODUCT, {"p": {**PRODUCT, "categoryId": NO_SUCH_ID}}, "acme-manager"),
    (
        "stale version",
        'mutation($id: ID!) { updateProduct(id: $id, expectedVersion: 99, input: {name: "X"}) { id } }',
        {"id": demo.PRODUCTS[0].id},
        "acme-manager",
    ),
    (
        "search too long",
        "query($s: String) { products(filter: {search: $s}) { totalCount } }",
        {"s": "x" * 500},
        "acme-viewer",
    ),
    ("too deep", DEEP, {}, "acme-viewer"),
    ("null @skip on a field", "query($s: Boolean = false) { categories { name @skip(if: $s) } }", {"s": None}, None),
]
TEMPLATES: list[Case] = [
    ("anonymous write", 'mutation { publishTemplate(id: "x") { id } }', {}, None),
    ("tenant admin writes the library", 'mutation { publishTemplate(id: "x") { id } }', {}, "acme-admin"),
    ("not found", "mutation($id: ID!) { publishTemplate(id: $id) { id } }", {"id": NO_SUCH_ID}, "root"),
]
PASSPORT: list[Case] = [
    ("anonymous list", "{ passports { totalCount } }", {}, None),
    ("not found", "mutation($id: ID!) { publishPassport(id: $id) { id } }", {"id": NO_SUCH_ID}, "acme-admin"),
    ("unknown public uuid", "query($u: String!) { publicPassport(uuid: $u) { name } }", {"u": "nope"}, None),
]
IDENTITY: list[Case] = [
    ("wrong password", 'mutation { login(email: "admin@acme.example", password: "wrong") { accessToken } }', {}, None),
    (
        "unknown roles",
        'mutation { inviteUser(input: {email: "x@acme.example", name: "X", roles: ["Owner"]}) { id } }',
        {},
        "acme-admin",
    ),
    (
        "forged invitation",
        'mutation { acceptInvitation(token: "x", password: "Long-Enough-2026") { accessToken } }',
        {},
        None,
    ),
]


def _missing_codes(body: Any) -> list[Any]:
    errors = body.get("errors") if isinstance(body, dict) else None
    if not errors:
        return [f"expected an error, got {body!r}"[:300]]
    return [error for error in errors if not (error.get("extensions") or {}).get("code")]


def _missing_ids(response: httpx.Response) -> list[Any]:
    """The gateway's errors without its response's ``x-request-id`` as ``extensions.requestId``."""
    request_id = response.headers.get("x-request-id")
    errors = response.json().get("errors") or []
    return [
        error for error in errors if not request_id or (error.get("extensions") or {}).get("requestId") != request_id
    ]


def _walk(federation: Federation, url: str, cases: list[Case], *, gateway: bool = False) -> dict[str, list[Any]]:
    missing: dict[str, list[Any]] = {}
    for name, query, variables, user in cases:
        token = federation.issuer.token_for(user) if user else None
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = httpx.post(url, json={"query": query, "variables": variables}, headers=headers, timeout=30)
        if bad := _missing_codes(response.json()) + (_missing_ids(response) if gateway else []):
            missing[f"{url} {name}"] = bad
    return missing


def _raw(url: str, **kwargs: Any) -> tuple[Any, httpx.Response | None]:
    """The JSON body (a stand-in error when it is not JSON) and the response when it is."""
    response = httpx.request(kwargs.pop("method", "POST"), url, timeout=30, **kwargs)
    try:
        return response.json(), response
    except ValueError:
        return {"errors": [{"message": f"not JSON: {response.status_code} {response.text[:200]!r}"}]}, None


def test_every_error_of_every_subgraph_and_the_gateway_has_a_code(federation: Federation) -> None:
    urls = {name: server.url + "/graphql" for name, server in federation.servers.items()}
    urls["identity"] = federation.issuer.url
    gateway = federation.gateway.url + "/graphql"
    missing: dict[str, list[Any]] = {}
    for name, cases in (
        ("catalog", CATALOG),
        ("templates", TEMPLATES),
        ("passport", PASSPORT),
        ("identity", IDENTITY),
    ):
        missing |= _walk(federation, urls[name], COMMON + cases)
    missing |= _walk(federation, gateway, COMMON + CATALOG + TEMPLATES + PASSPORT + IDENTITY, gateway=True)

    # Requests refused before GraphQL runs: bad credentials, a foreign tenant, broken bodies.
    acme_token = federation.issuer.token_for("acme-viewer")
    products = {"query": "{ products { totalCount } }"}
    refused: dict[str, dict[str, Any]] = {
        "tampered token": {"json": products, "headers": {"authorization": f"Bearer {acme_token[:-4]}AAAA"}},
        "foreign tenant": {
            "json": products,
            "headers": {"authorization": f"Bearer {acme_token}", "x-tenant-id": demo.tenant("greenloop").id},
        },
        "not json": {"content": b"{nope", "headers": {"content-type": "application/json"}},
        "no query": {"json": {"variables": {}}},
        "mutation over GET": {"method": "GET", "params": {"query": "mutation { logout { revokedSessions } }"}},
    }
    for target in (urls["catalog"], gateway):
        for name, request in refused.items():
            body, response = _raw(target, **request)
            bad = _missing_codes(body)
            if target == gateway and response is not None:
                bad += _missing_ids(response)
            if bad:
                missing[f"{target} {name}"] = bad

    # Another tenant's signed-in user reading a published passport whose product the catalog does not show them.
    uuid = next(p.public_uuid for p in demo.PASSPORTS if p.status == "PUBLISHED" and p.tenant_key == "acme")
    public = "query($u: String!) { publicPassport(uuid: $u) { name product { name } } }"
    for user in (None, "greenloop-admin"):
        token = federation.issuer.token_for(user) if user else None
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = httpx.post(gateway, json={"query": public, "variables": {"u": uuid}}, headers=headers, timeout=30)
        body = response.json()
        if bad := [e for e in body.get("errors") or () if not (e.get("extensions") or {}).get("code")]:
            missing[f"gateway publicPassport as {user}"] = bad
        if bad := _missing_ids(response):
            missing[f"gateway publicPassport as {user} (requestId)"] = bad

    # A subgraph that is down.
    federation.servers["catalog"].stop()
    query = "{ passports { nodes { name product { name } } } }"
    token = federation.issuer.token_for("acme-admin")
    response = httpx.post(gateway, json={"query": query}, headers={"authorization": f"Bearer {token}"}, timeout=30)
    if bad := _missing_codes(response.json()) + _missing_ids(response):
        missing["gateway catalog down"] = bad
    assert not missing, "\n".join(f"{where}: {errors}" for where, errors in missing.items())
