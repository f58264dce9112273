"""Fixtures of the gateway core tests: one loopback server hosting every scenario's subgraphs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .harness import Scenario, SubgraphServer
from .references import SCENARIOS


@pytest.fixture(scope="session")
def subgraph_server() -> Iterator[SubgraphServer]:
    """The uvicorn server (127.0.0.1, free port) that scenarios register their subgraphs on."""
    server = SubgraphServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def reference_scenarios(subgraph_server: SubgraphServer) -> dict[str, Scenario]:
    """The scenarios answered by Apollo Gateway (``references.py``), started once."""
    return {name: s.start(subgraph_server) for name, s in SCENARIOS.items()}
