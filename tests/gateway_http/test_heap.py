"""``gateway serve`` takes the loaded supergraph out of the cyclic GC's scans (see settle_heap)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.serve import GC_GEN0_THRESHOLD, build_app
from gateway.settings import Settings


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


SDL = (Path(__file__).resolve().parents[2] / "schema" / "supergraph.graphql").read_text()


def _started(tmp_path: Path, freeze_heap: bool) -> tuple[int, tuple[int, int, int]]:
    """Freeze count and GC thresholds once the app's startup (the supergraph load) is done."""
    supergraph = tmp_path / "supergraph.graphql"
    supergraph.write_text(SDL)
    app = build_app(Settings(supergraph=supergraph, poll_interval=0), freeze_heap=freeze_heap)

    async def start() -> tuple[int, tuple[int, int, int]]:
        async with app.router.lifespan_context(app):
            return gc.get_freeze_count(), gc.get_threshold()

    return asyncio.run(start())


def test_serve_freezes_the_heap_once_loaded(tmp_path: Path, restored_gc: None) -> None:
    gc.unfreeze()
    frozen, threshold = _started(tmp_path, freeze_heap=True)
    assert frozen > 0
    assert threshold[0] == GC_GEN0_THRESHOLD


def test_in_process_apps_leave_the_gc_alone(tmp_path: Path, restored_gc: None) -> None:
    gc.unfreeze()
    before = gc.get_threshold()
    assert _started(tmp_path, freeze_heap=False) == (0, before)
