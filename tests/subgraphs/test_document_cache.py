"""A subgraph parses and validates a document once, and answers it again exactly as the first time.

The document cache (subgraphs/common/limits.py) and the short way through Strawberry for a cached
valid document (subgraphs/common/execution.py) must change nothing a client can see: the same
operations, sent three times each to a catalog with the cache and to one without it (``document_cache_size``
0: Strawberry's whole pipeline every time), get the same status and body every time, errors and their
codes included (domain errors, authorization denials, validation, limits, syntax, variable coercion,
a null @skip condition, GET, a mutation over GET, a document with two operations).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from subgraphs.common.limits import DOCUMENTS_ATTRIBUTE, DocumentCache
from tests.support.identity import IdentityIssuer
from tests.support.subgraphs import running_subgraph

DEEP = "{ categories " + "{ parent " * 40 + "{ id }" + " }" * 40 + " }"
TWO_OPERATIONS = "query A { categories { id } } query B { __typename }"

# (query, variables, signed-in demo user or None, operation name)
OPERATIONS: list[tuple[str, dict[str, Any] | None, str | None, str | None]] = [
    ("{ __typename }", None, None, None),
    ("{ categories { id name productType parent { id } } }", None, None, None),
    ("query($id: ID!) { category(id: $id) { id name } }", {"id": "no-such-category"}, None, None),
    ("query($id: ID!) { product(id: $id) { id name } }", {"id": "no-such-product"}, "acme-admin", None),
    ("query($id: ID!) { product(id: $id) { id name } }", {"id": "no-such-product"}, None, None),
    (
        "query($first: Int) { products(first: $first) { totalCount nodes { id name } } }",
        {"first": 3},
        "acme-admin",
        None,
    ),
    ("{ categories { nope } }", None, None, None),
    ("{ categories { id }", None, None, None),
    (DEEP, None, None, None),
    ("query($id: ID!) { category(id: $id) { id } }", {"id": None}, None, None),
    ("query($id: ID!) { category(id: $id) { id } }", {}, None, None),
    ("query($s: Boolean) { categories @skip(if: $s) { id } }", {"s": None}, None, None),
    ('mutation { deleteProduct(id: "no-such-product", expectedVersion: 1) }', None, None, None),
    ('mutation { deleteProduct(id: "no-such-product", expectedVersion: 1) }', None, "acme-viewer", None),
    (TWO_OPERATIONS, None, None, "B"),
    (TWO_OPERATIONS, None, None, None),
]


@pytest.fixture
def catalogs(tmp_path: Path, issuer: IdentityIssuer) -> Iterator[tuple[Any, Any]]:
    """Two seeded catalog servers on SQLite: the default (document cache on) and one with it off."""
    urls = [f"sqlite+aiosqlite:///{(tmp_path / f'{name}.db').as_posix()}" for name in ("on", "off")]
    with (
        running_subgraph("catalog", urls[0], **issuer.overrides()) as cached,
        running_subgraph("catalog", urls[1], document_cache_size=0, **issuer.overrides()) as uncached,
    ):
        yield cached, uncached


def _post(base: str, issuer: IdentityIssuer, operation: tuple[str, Any, str | None, str | None]) -> tuple[int, Any]:
    query, variables, user, name = operation
    headers = {"authorization": f"Bearer {issuer.token_for(user)}"} if user else {}
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    if name is not None:
        body["operationName"] = name
    response = httpx.post(base + "/graphql", json=body, headers=headers, timeout=30)
    return response.status_code, response.json()


def _get(base: str, query: str) -> tuple[int, Any]:
    response = httpx.get(base + "/graphql", params={"query": query}, timeout=30)
    return response.status_code, response.json()


def _documents(server: Any) -> DocumentCache:
    return server.server.config.app.state.runtime.extra[DOCUMENTS_ATTRIBUTE]


def test_cached_documents_are_answered_exactly_as_without_the_cache(
    catalogs: tuple[Any, Any], issuer: IdentityIssuer
) -> None:
    cached, uncached = catalogs
    for operation in OPERATIONS:
        answers = [_post(server.url, issuer, operation) for server in (cached, uncached) for _ in range(3)]
        assert all(answer == answers[0] for answer in answers), (operation[0][:80], answers)
    for query in ("{ categories { id } }", 'mutation { deleteProduct(id: "x", expectedVersion: 1) }'):
        answers = [_get(server.url, query) for server in (cached, uncached) for _ in range(2)]
        assert all(answer == answers[0] for answer in answers), (query, answers)
    # The catalog answered the codes it always did (spot checks of the comparison above).
    codes = {
        operation[0][:40]: [
            (e.get("extensions") or {}).get("code") for e in _post(cached.url, issuer, operation)[1].get("errors", [])
        ]
        for operation in OPERATIONS[6:10]
    }
    assert list(codes.values()) == [
        ["GRAPHQL_VALIDATION_FAILED"],
        ["GRAPHQL_PARSE_FAILED"],
        ["MAX_DEPTH_LIMIT"],
        ["BAD_USER_INPUT"],
    ], codes


def test_each_document_is_parsed_and_validated_once(catalogs: tuple[Any, Any], issuer: IdentityIssuer) -> None:
    cached, uncached = catalogs
    for _ in range(3):
        for operation in OPERATIONS:
            _post(cached.url, issuer, operation)
            _post(uncached.url, issuer, operation)
    documents = _documents(cached)
    # Every valid document is kept once; refused ones are not (an attack's syntax trees would stay).
    # (A null variable or a missing operation name fails at execution: the document itself is valid. A
    # nullable variable as @skip's `if` fails validation.)
    valid = {OPERATIONS[i][0] for i in (0, 1, 2, 3, 5, 9, 12, 14)}
    assert {query for query, *_ in OPERATIONS if documents.get(query) is not None} == valid
    assert len(documents) == len(valid)
    assert documents.get(DEEP) is None and documents.get("{ categories { nope } }") is None
    assert len(_documents(uncached)) == 0
