"""GraphiQL over plain HTTP: who gets the page, its headers, the assets' caching, and the settings."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.http.graphiql import CONTENT_SECURITY_POLICY, prefers_html
from gateway.serve import build_app, build_server
from gateway.settings import Settings, SettingsError
from tests.support.servers import ServerThread

from .conftest import SUPERGRAPH, Served

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def _links(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', page)


@pytest.fixture(scope="module")
def page(served: Served) -> httpx.Response:
    return httpx.get(served.gateway + "/graphql", headers={"accept": BROWSER_ACCEPT}, timeout=10)


def test_a_browser_gets_the_page_with_a_strict_policy(page: httpx.Response) -> None:
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    policy = dict(part.strip().split(" ", 1) for part in CONTENT_SECURITY_POLICY.split(";"))
    assert policy["default-src"] == "'none'" and policy["script-src"] == "'self'"  # no inline or foreign script
    assert policy["style-src"] == "'self' 'unsafe-inline'" and policy["font-src"] == "'self' data:"
    assert not any("http" in sources or "*" in sources for sources in policy.values())  # no other origin
    assert policy["connect-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-content-type-options"] == "nosniff"
    # Every script and stylesheet is the gateway's own; no inline script (the policy would refuse it).
    assert all(link.startswith("/graphiql/assets/") or link == "data:," for link in _links(page.text))
    assert re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", page.text) == []


def test_assets_are_served_with_their_types_and_cached_for_good(served: Served, page: httpx.Response) -> None:
    assets = [link for link in _links(page.text) if link.startswith("/graphiql/assets/")]
    assert {a.rsplit("/", 1)[1] for a in assets} == {
        "graphiql.min.css", "page.css", "react.production.min.js", "react-dom.production.min.js",
        "graphiql.min.js", "init.js",
    }  # fmt: skip
    with httpx.Client(base_url=served.gateway, timeout=10) as client:
        for asset in assets:
            response = client.get(asset, headers={"accept-encoding": "gzip"})
            assert response.status_code == 200, asset
            expected = "text/css" if asset.endswith(".css") else "text/javascript"
            assert response.headers["content-type"] == f"{expected}; charset=utf-8"
            assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert response.headers["x-content-type-options"] == "nosniff"
            if asset.endswith("graphiql.min.js"):
                assert response.headers["content-encoding"] == "gzip"  # about 1 MB before, a quarter after
                assert b"createFetcher" in response.content
            again = client.get(asset, headers={"if-none-match": response.headers["etag"]})
            assert again.status_code == 304 and again.content == b""
        head = client.head(assets[0])
        assert head.status_code == 200
        digest = assets[0].split("/")[3]
        assert client.get(f"/graphiql/assets/{digest}/package.json").status_code == 404
        assert client.get(f"/graphiql/assets/{digest}/../../package.json").status_code == 404
        assert client.get(assets[0].replace(digest, "0" * len(digest))).status_code == 404


@pytest.mark.parametrize(
    "accept",
    [None, "*/*", "application/json", "application/graphql-response+json", "application/json, text/html;q=0.5"],
)
def test_api_clients_are_answered_as_before(served: Served, accept: str | None) -> None:
    headers = {"accept": accept} if accept is not None else {}
    response = httpx.get(served.gateway + "/graphql", params={"query": "{ __typename }"}, headers=headers, timeout=10)
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


def test_a_browser_post_still_reaches_graphql(served: Served) -> None:
    response = httpx.post(
        served.gateway + "/graphql",
        json={"query": "{ __typename }"},
        headers={"accept": "application/json, text/html"},
        timeout=10,
    )
    assert response.json() == {"data": {"__typename": "Query"}}


def _gateway(**values: object) -> Iterator[str]:
    settings = Settings.from_mapping({"supergraph": SUPERGRAPH, "poll_interval": 0, "log_level": "warning", **values})
    app = build_app(settings)
    with ServerThread(app, build_server(settings, app)) as server:
        yield server.url


@pytest.fixture(scope="module")
def off_gateway() -> Iterator[str]:
    yield from _gateway(graphiql=False, development=True)


@pytest.fixture(scope="module")
def uninstalled_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _gateway(graphiql=True, graphiql_assets=tmp_path_factory.mktemp("no-graphiql"))


def test_off_the_page_and_assets_do_not_exist(off_gateway: str, served: Served, page: httpx.Response) -> None:
    response = httpx.get(off_gateway + "/graphql", headers={"accept": BROWSER_ACCEPT}, timeout=10)
    # What a browser got before GraphiQL existed: JSON, from the GraphQL endpoint (*/* means JSON).
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    html_only = httpx.get(off_gateway + "/graphql", headers={"accept": "text/html"}, timeout=10)
    assert html_only.status_code == 406
    asset = next(link for link in _links(page.text) if link.endswith("init.js"))
    assert httpx.get(off_gateway + asset, timeout=10).status_code == 404


def test_missing_assets_say_how_to_install_them(uninstalled_gateway: str) -> None:
    response = httpx.get(uninstalled_gateway + "/graphql", headers={"accept": "text/html"}, timeout=10)
    assert response.status_code == 503
    assert "make install" in response.text
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (BROWSER_ACCEPT, True),
        ("text/html", True),
        ("application/xhtml+xml", True),
        (None, False),
        ("", False),
        ("*/*", False),
        ("text/*", False),
        ("application/json", False),
        ("application/json, text/html", False),
        ("text/html;q=0.9, application/graphql-response+json;q=0.8", True),
        ("text/html;q=0", False),
        ("text/html;q=bogus", False),
    ],
)
def test_prefers_html(accept: str | None, html: bool) -> None:
    assert prefers_html(accept) is html


def test_settings_off_in_production_on_in_development() -> None:
    assert Settings.load(environ={}).graphiql_enabled is False
    assert Settings.load(environ={"GATEWAY_DEVELOPMENT": "1"}).graphiql_enabled is True
    assert Settings.load(environ={"DPP_ENV": "development"}).graphiql_enabled is True  # make run
    assert Settings.load(environ={"DPP_ENV": "production"}).graphiql_enabled is False
    off = {"DPP_ENV": "development", "GATEWAY_DEVELOPMENT": "1", "GATEWAY_GRAPHIQL": "false"}
    assert Settings.load(environ=off).graphiql_enabled is False
    assert Settings.load(environ={"GATEWAY_GRAPHIQL": "on"}).graphiql_enabled is True
    assert Settings.load(environ={"GATEWAY_GRAPHIQL": "auto", "DPP_ENV": "development"}).graphiql_enabled is True
    assert Settings.load(environ={"GATEWAY_GRAPHIQL_ASSETS": "/opt/graphiql"}).graphiql_assets == Path("/opt/graphiql")
    with pytest.raises(SettingsError, match="graphiql"):
        Settings.load(environ={"GATEWAY_GRAPHIQL": "maybe"})


def test_settings_from_the_yaml_file(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text("graphiql: false\ngraphiql_assets: web\n")
    settings = Settings.load(config, environ={"DPP_ENV": "development"})
    assert settings.graphiql_enabled is False
    assert settings.graphiql_assets == tmp_path / "web"  # relative to the file
