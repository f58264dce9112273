"""The gateway on loopback with GraphiQL on, in front of a real, seeded catalog subgraph, and a
headless Chromium (Debian's, installed by ``scripts/ensure-system-packages.sh`` for ``make test``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.http.graphiql import default_assets_dir
from gateway.serve import build_app, build_server
from gateway.settings import Settings
from tests.browser.cdp import Page, chromium_binary, chromium_page
from tests.support.servers import ServerThread
from tests.support.subgraphs import running_subgraph

ROOT = Path(__file__).resolve().parents[2]
SUPERGRAPH = ROOT / "schema" / "supergraph.graphql"


@dataclass(frozen=True)
class Served:
    """The gateway's base URL and the catalog subgraph's GraphQL URL behind it."""

    gateway: str
    catalog: str


def _require(found: bool, reason: str) -> None:
    """Fail in CI (the browser tests must run there), skip with the reason elsewhere."""
    if found:
        return
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Our supergraph, catalog served from SQLite (seeded); the other subgraphs are not needed."""
    _require(
        (default_assets_dir() / "node_modules" / "graphiql" / "graphiql.min.js").is_file(),
        f"GraphiQL's assets are not installed in {default_assets_dir()} (make install)",
    )
    database = tmp_path_factory.mktemp("graphiql") / "catalog.db"
    with running_subgraph("catalog", f"sqlite+aiosqlite:///{database.as_posix()}") as catalog:
        settings = Settings.from_mapping(
            {
                "supergraph": SUPERGRAPH,
                "subgraph_urls": {"catalog": catalog.url + "/graphql"},
                "graphiql": True,
                "poll_interval": 0,
                "log_level": "warning",
            }
        )
        app = build_app(settings)
        with ServerThread(app, build_server(settings, app)) as gateway:
            yield Served(gateway.url, catalog.url + "/graphql")


@pytest.fixture(scope="module")
def browser() -> Iterator[Page]:
    """One headless Chromium tab for the module (each test navigates afresh)."""
    binary = chromium_binary()
    _require(binary is not None, "chromium is not installed (scripts/ensure-system-packages.sh installs it)")
    assert binary is not None
    with chromium_page(binary) as page:
        yield page
