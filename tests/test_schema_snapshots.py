"""The checked-in SDL under schema/ must be what the code produces (run `make schema`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from subgraphs.common.settings import SERVICE_NAMES
from subgraphs.schema_export import subgraph_sdl

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_subgraph_sdl_snapshot_is_current(name: str) -> None:
    path = ROOT / "schema" / "subgraphs" / f"{name}.graphql"
    assert path.exists(), f"{path} is missing: run `make schema`"
    assert path.read_text(encoding="utf-8") == subgraph_sdl(name), f"{path} is stale: run `make schema`"
