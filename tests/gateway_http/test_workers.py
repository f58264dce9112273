"""``gateway serve --workers N``: several processes on one port, same settings, clean shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from .harness import free_socket, wait_until

SUPERGRAPH = Path(__file__).resolve().parents[2] / "schema" / "supergraph.graphql"


def test_workers_share_the_port_and_stop_cleanly_on_sigterm() -> None:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--supergraph", str(SUPERGRAPH), "--port", str(port),
         "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "GATEWAY_LOG_LEVEL": "info", "GATEWAY_POLL_INTERVAL": "0"},
    )
    try:

        def ready() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health/ready").status_code == 200
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                return False

        wait_until(ready, what="gateway workers to listen")
        answer = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": "{ __typename }"})
        assert answer.json() == {"data": {"__typename": "Query"}}
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr.decode()
    assert stderr.count(b"Application startup complete") == 2  # both workers loaded the supergraph
    assert stderr.count(b"Application shutdown complete") == 2
    assert b"Traceback" not in stderr


def test_workers_must_be_positive() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve", "--supergraph", str(SUPERGRAPH), "--workers", "0"],
        capture_output=True,
        check=False,
    )
    assert result.returncode == 2
    assert b"gateway serve: workers: must be at least 1" in result.stderr
