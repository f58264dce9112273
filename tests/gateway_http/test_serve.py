"""Serving: health before and after load, hot reload, refused supergraphs, the CLI process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import orjson
import pytest

from gateway.http import GatewayState, sdl_digest
from gateway.serve import SupergraphWatcher, build_app, build_server
from gateway.settings import Settings
from tests.support.request_id import expected

from .harness import (
    SDL_V1,
    SDL_V2,
    Gates,
    LocalRuntime,
    ServerThread,
    free_socket,
    running_gateway,
    wait_until,
)

HEALTH_PATHS = ["/health", "/health/live", "/health/ready"]
INVALID_SDL = "type Query { broken: Nope }"


def query(url: str, text: str, timeout: float = 5.0) -> httpx.Response:
    return httpx.post(
        f"{url}/graphql",
        content=orjson.dumps({"query": text}),
        headers={"content-type": "application/json"},
        timeout=timeout,
    )


def health(url: str) -> httpx.Response:
    return httpx.get(f"{url}/health")


def test_health_is_503_before_a_supergraph_loads_and_200_after(tmp_path: Path) -> None:
    with running_gateway(tmp_path, sdl=None) as gw:
        for path in HEALTH_PATHS:
            response = httpx.get(f"{gw.url}{path}")
            assert response.status_code == 503
            assert response.json() == {"status": "fail"}
        graphql = query(gw.url, "{ hello }")
        assert graphql.status_code == 503
        assert graphql.json() == expected(
            {"errors": [{"message": "No supergraph is loaded yet", "extensions": {"code": "SERVICE_UNAVAILABLE"}}]},
            graphql,
        )

        gw.supergraph.write_text(SDL_V1)
        wait_until(lambda: health(gw.url).status_code == 200, what="first load")
        for path in HEALTH_PATHS:
            response = httpx.get(f"{gw.url}{path}")
            assert response.status_code == 200
            body = response.json()
            assert body["status"] == "pass"
            assert body["supergraph"]["sha256"] == sdl_digest(SDL_V1)
        assert query(gw.url, "{ version }").json() == {"data": {"version": "v1"}}


def test_valid_file_is_loaded_before_the_first_request(tmp_path: Path) -> None:
    with running_gateway(tmp_path, SDL_V1, poll_interval=0) as gw:
        assert health(gw.url).status_code == 200
        assert query(gw.url, "{ version }").json() == {"data": {"version": "v1"}}


def test_invalid_file_at_startup_serves_503_until_fixed(tmp_path: Path) -> None:
    with running_gateway(tmp_path, INVALID_SDL) as gw:
        response = health(gw.url)
        assert response.status_code == 503
        assert response.json()["rejected"]["sha256"] == sdl_digest(INVALID_SDL)
        gw.supergraph.write_text(SDL_V2)
        wait_until(lambda: health(gw.url).status_code == 200, what="load after fix")
        assert "rejected" not in health(gw.url).json()
        assert query(gw.url, "{ version }").json() == {"data": {"version": "v2"}}


def test_hot_reload_swaps_schema_and_refuses_invalid_supergraph(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with running_gateway(tmp_path, SDL_V1) as gw:
        assert query(gw.url, "{ v1only }").json() == {"data": {"v1only": "v1only"}}

        gw.supergraph.write_text(SDL_V2)
        wait_until(lambda: health(gw.url).json()["supergraph"]["sha256"] == sdl_digest(SDL_V2), what="reload to v2")
        assert query(gw.url, "{ v2only version }").json() == {"data": {"v2only": "v2only", "version": "v2"}}
        old_field = query(gw.url, "{ v1only }").json()
        assert "data" not in old_field
        assert "Cannot query field 'v1only'" in old_field["errors"][0]["message"]

        gw.supergraph.write_text(INVALID_SDL)
        wait_until(
            lambda: health(gw.url).json().get("rejected", {}).get("sha256") == sdl_digest(INVALID_SDL),
            what="invalid supergraph refused",
        )
        body = health(gw.url).json()
        assert body["status"] == "pass"
        assert body["supergraph"]["sha256"] == sdl_digest(SDL_V2)
        assert query(gw.url, "{ v2only version }").json() == {"data": {"v2only": "v2only", "version": "v2"}}
        assert "refused: TypeError: Unknown type 'Nope'" in caplog.text
        assert "still serving sha256" in caplog.text


async def test_watcher_reloads_only_when_the_text_changes(tmp_path: Path) -> None:
    path = tmp_path / "supergraph.graphql"
    state = GatewayState()
    built: list[str] = []

    def factory(sdl: str) -> LocalRuntime:
        built.append(sdl)
        return LocalRuntime(sdl)

    watcher = SupergraphWatcher(path, state, factory, poll_interval=0)
    assert await watcher.check() is False  # no file yet
    assert state.current is None

    path.write_text(SDL_V1)
    assert await watcher.check() is True
    first = state.current
    assert first is not None and first.sha256 == sdl_digest(SDL_V1)
    assert await watcher.check() is False  # nothing changed

    os.utime(path, ns=(1, 1))  # touched, same text: no rebuild
    assert await watcher.check() is False
    assert state.current is first

    path.write_text(INVALID_SDL)
    assert await watcher.check() is False
    assert state.current is first
    assert state.last_rejected is not None and state.last_rejected.sha256 == sdl_digest(INVALID_SDL)
    os.utime(path, ns=(2, 2))  # the same broken text again is not rebuilt
    assert await watcher.check() is False

    path.write_text(SDL_V2)
    assert await watcher.check() is True
    assert state.current is not None and state.current.sha256 == sdl_digest(SDL_V2)
    assert state.last_rejected is None
    assert built == [SDL_V1, INVALID_SDL, SDL_V2]


def test_in_flight_request_finishes_on_the_old_supergraph(tmp_path: Path) -> None:
    gates = Gates()
    with running_gateway(tmp_path, SDL_V1, gates=gates) as gw:
        answers: list[httpx.Response] = []
        slow = threading.Thread(target=lambda: answers.append(query(gw.url, "{ wait v1only }")))
        slow.start()
        try:
            wait_until(gates.entered.is_set, what="request to enter execution")
            gw.supergraph.write_text(SDL_V2)
            wait_until(lambda: health(gw.url).json()["supergraph"]["sha256"] == sdl_digest(SDL_V2), what="reload")
            # New requests see the new graph while the old request is still running.
            assert query(gw.url, "{ version }").json() == {"data": {"version": "v2"}}
            assert not answers
        finally:
            gates.release.set()
            slow.join(30)
        assert answers[0].status_code == 200
        assert answers[0].json() == {"data": {"wait": "v1", "v1only": "v1only"}}


def _gateway_process(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )


def test_cli_without_supergraph_exits_2() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    result = subprocess.run([sys.executable, "-m", "gateway.cli", "serve"], capture_output=True, env=env, check=False)
    assert result.returncode == 2
    assert b"gateway serve: supergraph: no supergraph file given" in result.stderr


def test_cli_with_bad_config_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text("port: nope\n")
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config)], capture_output=True, check=False
    )
    assert result.returncode == 2
    assert b"gateway serve: port: cannot use 'nope'" in result.stderr


def test_cli_reads_the_config_file_named_by_gateway_config(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text("max_body_bytes: -5\n")
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve", "--supergraph", "x.graphql"],
        capture_output=True,
        env={**os.environ, "GATEWAY_CONFIG": str(config)},
        check=False,
    )
    assert result.returncode == 2
    assert b"gateway serve: max_body_bytes: must be positive" in result.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_and_shuts_down_cleanly_on_signal(tmp_path: Path, signum: signal.Signals) -> None:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    # No file yet: the process starts, answers 503 and watches; no runtime is built.
    process = _gateway_process(
        ["--supergraph", str(tmp_path / "supergraph.graphql"), "--port", str(port)],
        env={"GATEWAY_LOG_LEVEL": "info"},
    )
    try:

        def ready() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health/live").status_code == 503
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                return False

        wait_until(ready, what="gateway process to listen")
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr.decode()
    assert b"cannot be read" in stderr
    assert b"Shutting down" in stderr
    assert b"Application shutdown complete" in stderr
    assert b"Traceback" not in stderr


def test_shutdown_lets_in_flight_requests_finish(tmp_path: Path) -> None:
    gates = Gates()
    path = tmp_path / "supergraph.graphql"
    path.write_text(SDL_V1)
    settings = Settings.from_mapping({"supergraph": path, "log_level": "warning", "shutdown_timeout": 30})
    app = build_app(settings, runtime_factory=lambda sdl: LocalRuntime(sdl, gates=gates))
    server = ServerThread(app, build_server(settings, app))
    answers: list[httpx.Response] = []
    with server:
        # A long client timeout: the request is held until the listener is seen closed, which on a
        # loaded machine can take longer than httpx's default 5 s.
        slow = threading.Thread(target=lambda: answers.append(query(server.url, "{ wait }", timeout=60)))
        slow.start()
        wait_until(gates.entered.is_set, what="request to enter execution")
        server.server.should_exit = True  # what SIGTERM / Ctrl-C do
        # New connections are refused once the listener is closed ...
        wait_until(lambda: _refused(server.url), what="listener to close")
        # ... while the request in flight still gets its answer.
        gates.release.set()
        slow.join(30)
    assert answers[0].status_code == 200
    assert answers[0].json() == {"data": {"wait": "v1"}}


def _refused(url: str) -> bool:
    try:
        httpx.get(f"{url}/health", timeout=5)
    except httpx.TransportError:
        # Refused, or accepted by a closing listener and dropped: either way not served.
        return True
    return False
