"""``dpp-stack --processes``: one process per service, as docker-compose runs them.

The stack migrates and seeds, then runs ``dpp-subgraph NAME`` for each subgraph and ``gateway serve``
as child processes; a signed-in query through the gateway crosses the subgraphs; SIGTERM stops every
child and the stack exits 0. A child that dies by itself stops the others and the stack exits 1.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from subgraphs.common.settings import SERVICE_NAMES
from subgraphs.stack import ProcessSpec, ProcessStack
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }"
QUERY = """{ passports(first: 2) { totalCount edges { node { name tenant { name } product { name category { name } }
  template { name } } } } }"""


def _children(pid: int) -> dict[int, str]:
    """Live child processes of ``pid``: pid -> command line."""
    found: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if stat[1] == str(pid) and stat[0] != "Z":
            found[int(entry)] = cmdline
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_dpp_stack_processes_serves_through_the_gateway_and_stops_cleanly(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL") and not k.startswith("GATEWAY_")}
    env.update({"DATA_DIR": str(tmp_path), "LOG_LEVEL": "warning", "DPP_ENV": "development", "SEED": "1"})
    for name in SERVICE_NAMES:
        port = free_port()
        env[f"{name.upper()}_PORT"] = str(port)
        env[f"{name.upper()}_URL"] = f"http://127.0.0.1:{port}/graphql"
        env[f"GATEWAY_SUBGRAPH_{name.upper()}_URL"] = f"http://127.0.0.1:{port}/graphql"
    env["GATEWAY_PORT"] = str(free_port())
    env["GATEWAY_SUPERGRAPH"] = str(ROOT / "schema" / "supergraph.graphql")
    log = (tmp_path / "stack.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", "from subgraphs.cli import stack_main; raise SystemExit(stack_main())", "--processes"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    gateway = f"http://127.0.0.1:{env['GATEWAY_PORT']}"
    children: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 120
        probes = [gateway + "/health/ready"] + [
            f"http://127.0.0.1:{env[f'{n.upper()}_PORT']}/health" for n in SERVICE_NAMES
        ]
        for probe in probes:
            while True:
                try:
                    if httpx.get(probe).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"stack did not come up:\n{(tmp_path / 'stack.log').read_text()[-3000:]}")
                time.sleep(0.3)

        children = _children(process.pid)
        assert len(children) == 5, children  # four subgraphs and the gateway, each a process of its own
        assert sum("gateway.cli serve" in c for c in children.values()) == 1
        assert {name for name in SERVICE_NAMES if any(f" {name} --no-seed" in c for c in children.values())} == set(
            SERVICE_NAMES
        )

        login = httpx.post(
            gateway + "/graphql",
            json={"query": LOGIN, "variables": {"e": "admin@acme.example", "p": "Acme-Admin-2026"}},
        ).json()
        assert "errors" not in login, login
        token = login["data"]["login"]["accessToken"]
        body = httpx.post(
            gateway + "/graphql", json={"query": QUERY}, headers={"authorization": f"Bearer {token}"}
        ).json()
        assert "errors" not in body, body
        node = body["data"]["passports"]["edges"][0]["node"]
        assert node["tenant"]["name"] == "Acme Batteries GmbH"  # identity
        assert node["product"]["category"]["name"]  # catalog
        assert node["template"]["name"]  # templates

        if (ROOT / "schema" / "partner.graphql").exists():  # the same gateway defaults as in one process
            partner = httpx.post(gateway + "/partner/graphql", json={"query": "{ __typename }"})
            assert partner.json() == {"data": {"__typename": "Query"}}

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=40) == 0, (tmp_path / "stack.log").read_text()[-3000:]
        assert not [pid for pid in children if _alive(pid)]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        log.close()


def test_a_child_that_exits_stops_the_others_and_the_stack_fails(tmp_path: Path) -> None:
    marker = tmp_path / "stopped"
    # A well-behaved service: exits 0 on SIGTERM after leaving a mark.
    service = (
        "import signal, sys, time, pathlib\n"
        f"signal.signal(signal.SIGTERM, lambda *_: (pathlib.Path({str(marker)!r}).touch(), sys.exit(0)))\n"
        "time.sleep(60)\n"
    )
    stack = ProcessStack(
        [
            ProcessSpec("steady", [sys.executable, "-c", service]),
            ProcessSpec("broken", [sys.executable, "-c", "import time; time.sleep(0.5); raise SystemExit(3)"]),
        ],
        grace=10,
    )
    started = time.monotonic()
    assert stack.run() == 1
    assert time.monotonic() - started < 10
    assert marker.exists()  # asked to stop (SIGTERM), not killed
    assert stack.processes["steady"].returncode == 0
    assert stack.processes["broken"].returncode == 3


def _recording_stack(log: Path) -> subprocess.Popen[bytes]:
    """A ProcessStack (in a session of its own) whose one child writes each signal it gets to ``log``."""
    child = (
        "import signal, sys, time, pathlib\n"
        f"log = pathlib.Path({str(log)!r})\n"
        "def note(signum, _frame):\n"
        "    with log.open('a') as f: f.write(signal.Signals(signum).name + '\\n')\n"
        "    if signum == signal.SIGTERM: sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, note)\n"
        "signal.signal(signal.SIGINT, note)\n"
        "log.touch()\n"
        "time.sleep(60)\n"
    )
    stack = (
        "import sys\n"
        "from subgraphs.stack import ProcessSpec, ProcessStack\n"
        f"sys.exit(ProcessStack([ProcessSpec('child', [sys.executable, '-c', {child!r}])]).run())\n"
    )
    process = subprocess.Popen([sys.executable, "-c", stack], cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 30
    while not log.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return process


def test_ctrl_c_reaches_each_child_once_as_sigterm(tmp_path: Path) -> None:
    """A terminal's Ctrl-C signals the whole foreground group; the children hear one SIGTERM, not SIGINT too."""
    log = tmp_path / "signals"
    process = _recording_stack(log)
    try:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: the parent's whole group
        assert process.wait(timeout=20) == 0
        assert log.read_text().split() == ["SIGTERM"]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_children_stop_when_the_supervisor_is_killed(tmp_path: Path) -> None:
    """kill -9 of dpp-stack leaves no server behind holding its port: each child gets SIGTERM."""
    log = tmp_path / "signals"
    process = _recording_stack(log)
    try:
        process.kill()
        process.wait()
        deadline = time.monotonic() + 20
        while not log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert log.read_text().split() == ["SIGTERM"]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
