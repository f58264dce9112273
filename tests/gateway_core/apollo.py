"""Apollo Gateway (the reference implementation) on loopback, for reference answers and differential tests.

``make bench`` installs ``@apollo/gateway`` and Node 22 into ``bench/node_modules``; this module
runs ``bench/apollo-gateway.mjs`` there on a supergraph whose subgraph URLs point at the test's
loopback subgraphs. Without that install, :func:`apollo_available` is false and tests that need
a live Apollo Gateway skip (checked-in reference answers need nothing).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
NODE = BENCH / "node_modules" / ".bin" / "node"
SCRIPT = BENCH / "apollo-gateway.mjs"

_GRAPH = re.compile(r'(@join__graph\(name: "(?P<name>[^"]+)", url: ")[^"]*(")')


def apollo_available() -> bool:
    """Whether Node and @apollo/gateway are installed in bench/node_modules (``make bench`` does it)."""
    return NODE.exists() and (BENCH / "node_modules" / "@apollo" / "gateway").is_dir() and SCRIPT.exists()


def with_urls(supergraph_sdl: str, urls: Mapping[str, str]) -> str:
    """The supergraph with each ``@join__graph`` URL replaced by ``urls[name]``."""
    return _GRAPH.sub(lambda m: m.group(1) + urls.get(m.group("name"), "") + m.group(3), supergraph_sdl)


class ApolloGateway:
    """One Apollo Gateway process on 127.0.0.1 serving a supergraph (context manager)."""

    def __init__(self, supergraph_sdl: str, urls: Mapping[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self._dir = tempfile.TemporaryDirectory(prefix="apollo-gw-")
        self._sdl = Path(self._dir.name) / "supergraph.graphql"
        self._sdl.write_text(with_urls(supergraph_sdl, urls))
        self._log = Path(self._dir.name) / "log.txt"
        self._proc: subprocess.Popen[bytes] | None = None
        self._client = httpx.Client(timeout=30)

    def __enter__(self) -> ApolloGateway:
        with self._log.open("wb") as log:
            self._proc = subprocess.Popen(
                [str(NODE), str(SCRIPT), str(self._sdl), str(self.port)],
                cwd=BENCH,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(f"Apollo Gateway exited: {self._log.read_text()}")
            try:
                self._client.post(self.url, json={"query": "{ __typename }"})
                return self
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Apollo Gateway did not start: {self._log.read_text()}") from None
                time.sleep(0.1)

    def query(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The response body Apollo Gateway answers (any HTTP status)."""
        payload: dict[str, Any] = {"query": query}
        if variables:
            payload["variables"] = dict(variables)
        resp = self._client.post(self.url, json=payload, headers={"apollo-require-preflight": "true"})
        body: dict[str, Any] = resp.json()
        return body

    def __exit__(self, *exc: object) -> None:
        self._client.close()
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._dir.cleanup()
