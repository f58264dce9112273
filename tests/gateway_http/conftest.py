"""Fixtures for the HTTP edge tests (helpers live in ``harness.py``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from .harness import EchoSubgraph, ServerThread, echo_app


@pytest.fixture(scope="session")
def echo_subgraph() -> Iterator[EchoSubgraph]:
    """A loopback subgraph server shared by the session."""
    release = threading.Event()
    with ServerThread(echo_app(release)) as server:
        yield EchoSubgraph(url=server.url, release=release)
        release.set()
