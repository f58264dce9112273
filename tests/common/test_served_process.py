"""A subgraph served in a process of its own (``dpp-subgraph``): its heap settled after startup, uvloop under it.

The QR path's tail at 80% of its peak (``make bench-dpp --probe``) had the passport subgraph's full
garbage collections in it (hundreds of milliseconds walking the startup heap) and a subgraph loop
that was plain asyncio while the gateway's was uvloop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvloop

from subgraphs.cli import serve_forever
from subgraphs.common.app import create_app
from subgraphs.common.settings import Settings
from tests.common import toy
from tests.support.servers import ServerThread


@pytest.fixture
def thawed() -> Iterator[None]:
    """No frozen heap before the test, none after it, the thresholds as they were (the process goes on collecting)."""
    thresholds = gc.get_threshold()
    gc.unfreeze()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def _served(tmp_path: Path, *, settle: bool) -> int:
    """Start a subgraph app, ask /health once, and return the frozen objects counted while it served."""
    url = f"sqlite+aiosqlite:///{(tmp_path / 'toy.db').as_posix()}"
    settings = dataclasses.replace(Settings.from_env("testtoy"), database_url=url)
    server = ServerThread(create_app(toy.DEFINITION, settings, settle=settle)).start()
    try:
        assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200
        return gc.get_freeze_count()
    finally:
        server.stop()


def test_a_settled_subgraph_freezes_what_it_holds_once_started(tmp_path: Path, thawed: None) -> None:
    thresholds = gc.get_threshold()
    assert _served(tmp_path, settle=True) > 10_000  # modules, mappers and schemas: out of the GC's scans
    assert gc.get_threshold() == thresholds  # the young generation stays small (short pauses; see settle_heap)


def test_an_app_sharing_its_process_leaves_the_heap_alone(tmp_path: Path, thawed: None) -> None:
    thresholds = gc.get_threshold()
    assert _served(tmp_path, settle=False) == 0
    assert gc.get_threshold() == thresholds


def test_a_served_subgraph_runs_on_uvloop() -> None:
    seen: list[asyncio.AbstractEventLoop] = []

    async def serving() -> None:
        seen.append(asyncio.get_running_loop())

    serve_forever(serving())
    assert isinstance(seen[0], uvloop.Loop)
