"""The stack under ``make bench-dpp``: four subgraphs and the gateway, one process each.

:class:`BenchStack` seeds the databases of one checkout (``bench/dpp/seed.py`` in a process of
its own, with that checkout on ``PYTHONPATH``), starts ``bench/dpp/launch.py`` for each
subgraph and for the gateway (uvicorn, as docker-compose runs them), waits until each answers,
signs the demo admin in through the gateway, and stops everything on exit.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
SERVICES = ("identity", "catalog", "templates", "passport")
LOGIN = """mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }"""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clean_environ() -> dict[str, str]:
    """This process's environment without anything that would point the stack elsewhere."""
    drop = ("DATABASE_URL", "REDIS_URL", "OTEL_", "GATEWAY_", "OIDC_", "ISSUER_URL", "PYTHONPATH")
    return {k: v for k, v in os.environ.items() if not any(k.startswith(d) or k.endswith(d) for d in drop)}


@dataclass
class BenchStack:
    """One checkout's stack: ``label`` names it in tables and logs."""

    label: str
    tree: Path
    databases: dict[str, str]
    workdir: Path
    profile_dir: Path | None = None
    probe_dir: Path | None = None  # probe.py's measurements (run.py --probe)
    sharing: bool = True  # False: GATEWAY_DEDUP_QUERIES=false (run.py --no-sharing)
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    seeded: dict[str, Any] = field(default_factory=dict)
    token: str = ""

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}/graphql"

    def url(self, service: str) -> str:
        """``/graphql`` of ``service`` (a subgraph name or ``gateway``)."""
        return f"http://127.0.0.1:{self.ports[service]}/graphql"

    def environ(self) -> dict[str, str]:
        """The environment every process of this stack gets."""
        if not self.ports:
            self.ports = {name: free_port() for name in (*SERVICES, "gateway")}
        issuer = f"http://127.0.0.1:{self.ports['identity']}"
        env = _clean_environ()
        env.update(
            {
                "PYTHONPATH": str(self.tree),
                "DPP_ENV": "development",
                "DATA_DIR": str(self.workdir / "data"),
                "LOG_LEVEL": "warning",
                "ACCESS_TOKEN_TTL": "3600",
                "SEED": "0",
                "ISSUER_URL": issuer,
                "GATEWAY_OIDC_ISSUERS": issuer,
                "GATEWAY_AUTH_CONTEXT_URL": f"{issuer}/auth/context",
                "GATEWAY_POLL_INTERVAL": "0",
                "GATEWAY_LOG_LEVEL": "warning",
            }
        )
        for name in SERVICES:
            env[f"{name.upper()}_PORT"] = str(self.ports[name])
            env[f"{name.upper()}_URL"] = self.url(name)
            env[f"{name.upper()}_DATABASE_URL"] = self.databases[name]
            env[f"GATEWAY_SUBGRAPH_{name.upper()}_URL"] = self.url(name)
        if not self.sharing:
            env["GATEWAY_DEDUP_QUERIES"] = "false"
        if self.profile_dir is not None:
            env["BENCH_PROFILE_DIR"] = str(self.profile_dir)
        if self.probe_dir is not None:
            env["BENCH_PROBE_DIR"] = str(self.probe_dir)
        return env

    def seed(self, products: int) -> dict[str, Any]:
        """Migrate and seed this checkout's databases; what ``seed.py`` reported."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.workdir / "seed.log"
        with log.open("wb") as err:
            done = subprocess.run(
                [sys.executable, str(HERE / "seed.py"), "--products", str(products)],
                cwd=self.tree,
                env=self.environ(),
                stdout=subprocess.PIPE,
                stderr=err,
                check=False,
            )
        if done.returncode != 0:
            raise SystemExit(f"bench-dpp: seeding {self.label} failed; see {log}")
        self.seeded = json.loads(done.stdout.decode().strip().splitlines()[-1])
        return self.seeded

    def _start(self, name: str, args: list[str]) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            [sys.executable, str(HERE / "launch.py"), *args],
            cwd=self.tree,
            env=self.environ(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def _wait(self, name: str, deadline: float) -> None:
        url = f"http://127.0.0.1:{self.ports[name]}/graphql"
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise SystemExit(f"bench-dpp: {self.label} {name} exited; see {self.workdir / (name + '.log')}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.post(url, json={"query": "{ __typename }"}, timeout=5).status_code == 200:
                    return
            time.sleep(0.2)
        raise SystemExit(f"bench-dpp: {self.label} {name} did not answer; see {self.workdir / (name + '.log')}")

    def start(self) -> None:
        """Start the four subgraphs and the gateway; returns when all answer and the admin is signed in."""
        for name in SERVICES:
            self._start(name, ["subgraph", name])
        supergraph = self.tree / "schema" / "supergraph.graphql"
        self._start(
            "gateway", ["gateway", "serve", "--supergraph", str(supergraph), "--port", str(self.ports["gateway"])]
        )
        deadline = time.monotonic() + 180
        for name in (*SERVICES, "gateway"):
            self._wait(name, deadline)
        answer = httpx.post(
            self.gateway,
            json={"query": LOGIN, "variables": {"e": "admin@acme.example", "p": "Acme-Admin-2026"}},
            timeout=30,
        ).json()
        if "errors" in answer:
            raise SystemExit(f"bench-dpp: {self.label}: signing in failed: {answer['errors']}")
        self.token = answer["data"]["login"]["accessToken"]

    def pids(self) -> dict[str, int]:
        """Process id of each service."""
        return {name: process.pid for name, process in self.processes.items()}

    def stop(self) -> None:
        """SIGTERM everything, then SIGKILL what has not exited after 15 s."""
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def statements(self) -> dict[str, float]:
        """SQL statements each subgraph has executed so far (its ``/metrics`` counter)."""
        counts: dict[str, float] = {}
        for name in SERVICES:
            text = httpx.get(f"http://127.0.0.1:{self.ports[name]}/metrics", timeout=10).text
            counts[name] = sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("dpp_sql_statements_total")
            )
        return counts


@contextlib.contextmanager
def running(stack: BenchStack) -> Iterator[BenchStack]:
    """``stack`` started, stopped on exit."""
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@contextlib.contextmanager
def floor_server() -> Iterator[str]:
    """``floor.py``'s do-nothing app under uvicorn (uvloop, httptools) in a process of its own; its URL."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "floor:app", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen([*command, "--loop", "uvloop", "--http", "httptools"], cwd=HERE)
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.post(url, content=b"{}", timeout=5).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("bench-dpp: the floor server did not start")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)
