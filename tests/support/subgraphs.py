"""Start real subgraph servers against a migrated (and optionally seeded) database."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

from subgraphs.cli import prepare
from subgraphs.common.app import create_app
from subgraphs.common.settings import Settings
from subgraphs.registry import load_definition
from tests.support.servers import ServerThread, free_socket


def prepare_database(name: str, database_url: str, *, seed: bool = True) -> None:
    """Migrate ``database_url`` for subgraph ``name`` and, if asked, seed the demo data (as ``dpp-stack`` does)."""
    prepare(name, subgraph_settings(name, database_url), seed=seed)


def subgraph_settings(name: str, database_url: str, **overrides: object) -> Settings:
    """Settings for subgraph ``name`` on ``database_url`` with ``overrides`` applied."""
    return dataclasses.replace(Settings.from_env(name), database_url=database_url, **overrides)  # type: ignore[arg-type]


@contextmanager
def running_subgraph(name: str, database_url: str, *, seed: bool = True, **overrides: object) -> Iterator[ServerThread]:
    """Migrate, seed and serve subgraph ``name``; yields the server (``server.url + '/graphql'``)."""
    prepare_database(name, database_url, seed=seed)
    sock = free_socket()  # the app's settings need its port before it is built
    settings = subgraph_settings(name, database_url, port=int(sock.getsockname()[1]), **overrides)
    server = ServerThread(create_app(load_definition(name), settings), sock=sock).start()
    try:
        yield server
    finally:
        server.stop()
