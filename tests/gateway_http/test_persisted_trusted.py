"""Trusted documents: an Apollo persisted-query manifest, in each mode, hot-reloaded from its file,
against a real gateway on loopback whose ``forwarded`` field reaches a real subgraph server."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from gateway.persisted import Manifest, ManifestError
from gateway.settings import Settings, SettingsError
from tests.support.oidc_issuer import OidcIssuer
from tests.support.request_id import expected

from .conftest import trusting
from .harness import SDL_V1, EchoSubgraph, RunningGateway, running_gateway, wait_until

LISTED = "query Listed {\n  hello\n  forwarded\n}"
OTHER = "query Other { version }"


def sha(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def manifest(*bodies: str, ids: tuple[str, ...] = ()) -> bytes:
    operations = [
        {"id": ids[i] if i < len(ids) else sha(body), "name": f"Op{i}", "type": "query", "body": body}
        for i, body in enumerate(bodies)
    ]
    return orjson.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations})


def post(gw: RunningGateway, body: object) -> httpx.Response:
    return httpx.post(gw.graphql, content=orjson.dumps(body), headers={"content-type": "application/json"})


def by_hash(query: str) -> dict[str, Any]:
    return {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha(query)}}}


def code_of(response: httpx.Response) -> str | None:
    errors = response.json().get("errors")
    return str(errors[0]["extensions"]["code"]) if errors else None


@pytest.fixture
def trusted(tmp_path: Path, echo_subgraph: EchoSubgraph, token_issuer: OidcIssuer) -> Iterator[Any]:
    """A factory: a gateway in ``mode`` whose manifest file holds LISTED (id ``sha(LISTED)`` and ``listed-v1``)."""
    path = tmp_path / "manifest.json"
    path.write_bytes(manifest(LISTED, LISTED, ids=(sha(LISTED), "listed-v1")))

    def start(mode: str, **extra: Any) -> Any:
        return running_gateway(
            tmp_path,
            SDL_V1,
            echo_url=f"{echo_subgraph.url}/graphql",
            auth_issuers=trusting(token_issuer),
            trusted_documents_mode=mode,
            trusted_documents_manifest=path,
            trusted_documents_poll_interval=0.02,
            **extra,
        )

    start.path = path  # type: ignore[attr-defined]
    yield start


def test_safelist_by_id_runs_manifest_ids_only(trusted: Any) -> None:
    with trusted("safelist_by_id") as gw:
        answer = post(gw, by_hash(LISTED)).json()
        assert answer["data"]["hello"] == "hello world" and "x-forwarded-for" in answer["data"]["forwarded"]
        assert post(gw, {"documentId": "listed-v1"}).json()["data"]["hello"] == "hello world"
        got = httpx.get(gw.graphql, params={"documentId": "listed-v1"})
        assert got.json()["data"]["hello"] == "hello world"
        unknown = post(gw, by_hash(OTHER))
        assert code_of(unknown) == "PERSISTED_QUERY_NOT_IN_LIST"
        assert post(gw, {"documentId": "nope"}).json()["errors"][0]["message"] == (
            "Persisted query 'nope' not found in the persisted query list"
        )
        for free_text in ({"query": OTHER}, {"query": LISTED}, {"query": OTHER, **by_hash(OTHER)}):
            assert code_of(post(gw, free_text)) == "PERSISTED_QUERY_ID_REQUIRED"
        assert code_of(post(gw, by_hash(OTHER))) == "PERSISTED_QUERY_NOT_IN_LIST"  # nothing was registered


def test_safelist_by_body_allows_listed_bodies_up_to_printing(trusted: Any) -> None:
    with trusted("safelist_by_body") as gw:
        assert post(gw, {"query": LISTED}).json()["data"]["hello"] == "hello world"
        reformatted = "# a comment\nquery Listed { hello, forwarded }"
        assert post(gw, {"query": reformatted}).json()["data"]["hello"] == "hello world"
        refused = post(gw, {"query": OTHER})
        assert refused.json() == expected(
            {
                "errors": [
                    {
                        "message": "The operation body was not found in the persisted query safelist",
                        "extensions": {"code": "QUERY_NOT_IN_SAFELIST"},
                    }
                ]
            },
            refused,
        )
        # APQ registration of an unlisted body is refused too, and nothing is stored
        assert code_of(post(gw, {"query": OTHER, **by_hash(OTHER)})) == "QUERY_NOT_IN_SAFELIST"
        assert code_of(post(gw, by_hash(OTHER))) == "PERSISTED_QUERY_NOT_FOUND"
        # a listed body may be registered and used by hash
        assert post(gw, {"query": reformatted, **by_hash(reformatted)}).json()["data"]["hello"] == "hello world"
        assert post(gw, by_hash(reformatted)).json()["data"]["hello"] == "hello world"


def test_log_unknown_runs_everything_and_logs_the_unknown(trusted: Any, caplog: pytest.LogCaptureFixture) -> None:
    with trusted("log_unknown") as gw, caplog.at_level(logging.WARNING, logger="gateway.persisted"):
        assert post(gw, {"query": LISTED}).json()["data"]["hello"] == "hello world"
        assert not [r for r in caplog.records if "not in the manifest" in r.getMessage()]
        assert post(gw, {"query": OTHER}).json() == {"data": {"version": "v1"}}
        unknown = [r.getMessage() for r in caplog.records if "not in the manifest" in r.getMessage()]
        assert unknown == [f"trusted documents: operation - (sha256 {sha(OTHER)}) is not in the manifest"]


def test_off_ignores_the_manifest(trusted: Any) -> None:
    with trusted("off") as gw:
        assert post(gw, {"query": OTHER}).json() == {"data": {"version": "v1"}}
        assert code_of(post(gw, {"documentId": "listed-v1"})) == "PERSISTED_QUERY_NOT_IN_LIST"


def test_manifest_hot_reload_and_a_bad_manifest_keeps_the_old(trusted: Any, caplog: pytest.LogCaptureFixture) -> None:
    path: Path = trusted.path
    with trusted("safelist_by_body") as gw:
        assert code_of(post(gw, {"query": OTHER})) == "QUERY_NOT_IN_SAFELIST"
        path.write_bytes(manifest(LISTED, OTHER))
        wait_until(lambda: "data" in post(gw, {"query": OTHER}).json(), what="the new manifest")
        with caplog.at_level(logging.ERROR, logger="gateway.persisted"):
            path.write_bytes(b'{"format": "something-else"}')
            stat = path.stat()
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))

            def refused() -> bool:
                post(gw, {"query": "{ version }"})  # the manifest is checked by requests
                return any("refused, keeping the previous manifest" in r.getMessage() for r in caplog.records)

            wait_until(refused, what="the refusal log line")
        assert post(gw, {"query": OTHER}).json() == {"data": {"version": "v1"}}  # the previous manifest serves
        path.write_bytes(manifest(OTHER))
        wait_until(lambda: code_of(post(gw, {"query": LISTED})) == "QUERY_NOT_IN_SAFELIST", what="LISTED removed")


def test_development_bypass_logs_instead_of_refusing(trusted: Any, caplog: pytest.LogCaptureFixture) -> None:
    with trusted("safelist_by_id", development=True, trusted_documents_bypass=True) as gw:
        with caplog.at_level(logging.WARNING, logger="gateway.persisted"):
            assert post(gw, {"query": OTHER}).json() == {"data": {"version": "v1"}}
        assert any("development bypass" in r.getMessage() for r in caplog.records)


def test_bypass_outside_development_and_a_missing_manifest_are_setting_errors(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"trusted_documents\.bypass"):
        Settings.from_mapping({"trusted_documents_bypass": True})
    with pytest.raises(SettingsError, match=r"trusted_documents\.manifest"):
        Settings.from_mapping({"trusted_documents_mode": "safelist_by_id"})
    with pytest.raises(SettingsError, match=r"trusted_documents\.mode"):
        Settings.from_mapping({"trusted_documents_mode": "strict"})
    config = tmp_path / "gateway.yaml"
    config.write_text("trusted_documents:\n  mode: log_unknown\n  manifest: ops.json\n")
    assert Settings.load(config, environ={}).trusted_documents_manifest == tmp_path / "ops.json"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"nope", "not JSON"),
        (b'{"format": "apollo-persisted-query-manifest", "version": 2, "operations": []}', "version must be 1"),
        (b'{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id": "a"}]}', "string id"),
        (
            b'{"format": "apollo-persisted-query-manifest", "version": 1,'
            b' "operations": [{"id": "a", "type": "query", "body": "query {"}]}',
            "not a GraphQL document",
        ),
    ],
)
def test_bad_manifests_are_refused(raw: bytes, problem: str) -> None:
    with pytest.raises(ManifestError, match=problem):
        Manifest.parse(raw)


def test_a_huge_unlisted_body_is_refused_without_parsing_it_all(trusted: Any) -> None:
    # 400,000 tokens: parsing all of them takes graphql-core about 12 s; the manifest's largest
    # operation bounds the parse, so the refusal comes at once.
    huge = "{ " + "hello " * 400_000 + "}"
    with trusted("safelist_by_body", max_body_bytes=4_000_000) as gw:
        started = time.perf_counter()
        response = httpx.post(
            gw.graphql, content=orjson.dumps({"query": huge}), headers={"content-type": "application/json"}, timeout=60
        )
        elapsed = time.perf_counter() - started
        assert code_of(response) == "QUERY_NOT_IN_SAFELIST"
        assert elapsed < 2.0
        assert post(gw, {"query": LISTED}).json()["data"]["hello"] == "hello world"
