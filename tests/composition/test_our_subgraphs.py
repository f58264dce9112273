"""Our four subgraphs compose, and the checked-in supergraph is what composition produces."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.composition import SubgraphSource, compose
from gateway.composition.api_schema import api_schema_from_supergraph
from gateway.composition.config import load_config
from subgraphs.common.settings import SERVICE_NAMES
from subgraphs.schema_export import subgraph_sdl

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schema"
PORTS = {"identity": 4001, "catalog": 4002, "templates": 4003, "passport": 4004}


@pytest.fixture(scope="module")
def live_sources() -> list[SubgraphSource]:
    """Each subgraph's ``_service { sdl }`` straight from the code, in supergraph.yaml order."""
    return [
        SubgraphSource(name, f"http://127.0.0.1:{PORTS[name]}/graphql", subgraph_sdl(name))
        for name in ("identity", "catalog", "templates", "passport")
    ]


def test_the_four_subgraphs_compose(live_sources: list[SubgraphSource]) -> None:
    assert set(SERVICE_NAMES) == set(PORTS)
    result = compose(live_sources)
    assert result.errors == [], [str(e) for e in result.errors]
    sdl = result.supergraph_sdl
    assert sdl is not None
    for name, port in PORTS.items():
        assert f'{name.upper()} @join__graph(name: "{name}", url: "http://127.0.0.1:{port}/graphql")' in sdl
    api = api_schema_from_supergraph(sdl)
    # Entities cross subgraphs by key: passport's Product stub is catalog's Product.
    assert api.query_type is not None
    assert "Product" in api.type_map and "Passport" in api.type_map
    assert not any(name.startswith(("join__", "link__", "_")) for name in api.type_map if not name.startswith("__"))


def test_supergraph_yaml_names_the_four_subgraphs() -> None:
    text = (SCHEMA / "supergraph.yaml").read_text()
    for name, port in PORTS.items():
        assert f"routing_url: http://127.0.0.1:{port}/graphql" in text
        assert f"file: subgraphs/{name}.graphql" in text


def test_checked_in_supergraph_is_current() -> None:
    files = [SCHEMA / "subgraphs" / f"{n}.graphql" for n in PORTS]
    if not all(f.exists() for f in files):
        pytest.skip("schema/subgraphs/*.graphql not exported yet (run `make schema`)")
    supergraph = SCHEMA / "supergraph.graphql"
    assert supergraph.exists(), "schema/supergraph.graphql is missing: run `make schema`"
    result = compose(load_config(SCHEMA / "supergraph.yaml"))
    assert result.errors == [], [str(e) for e in result.errors]
    assert supergraph.read_text() == result.supergraph_sdl, "schema/supergraph.graphql is stale: run `make schema`"
