"""``make bench``: the Python gateway and Apollo Gateway, same subgraphs, same heavy query.

Starts the cached subgraphs (``bench/subgraphs.py``), writes their supergraph,
starts ``gateway serve`` and Apollo Gateway (``bench/apollo-gateway.mjs`` on the
Node 22 from ``bench/node_modules``), checks that both answer the heavy query
identically, then drives each with wrk and prints requests/s, p50/p99 latency and
the ratio. ``bench/run.sh`` installs wrk and the npm packages first.

Environment knobs: BENCH_DURATION (seconds per measurement, default 15),
BENCH_CONNECTIONS (default 16), BENCH_THREADS (wrk threads, default 1),
BENCH_ROUNDS (alternating measurement rounds, default 1; the best round counts),
BENCH_WORKERS (``gateway serve --workers``, default 1: one process, like Apollo Gateway on Node).
BENCH_PROTECTIONS (default 1; 0 skips it) also runs a second Python gateway with every protection turned off
(operation limits, demand control, APQ, circuit breaker, retries, connection guards, router
timeout; deduplication stays on, it saves work) and prints the CPU the protections cost per request.
The table also gives each gateway's CPU milliseconds per request (its processes' user +
system time over the run, from /proc), a steadier figure than requests/s on shared cores.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / ".out"
sys.path.insert(0, str(BENCH))

from subgraphs import HEAVY_QUERY, supergraph_sdl  # noqa: E402


@dataclass
class Measurement:
    """One wrk run."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: str | None
    requests: int = 0
    cpu_ms_per_request: float | None = None  # the gateway's own CPU time (steadier than req/s)
    subgraph_cpu_ms_per_request: float | None = None


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process and its live children so far (Linux /proc), or None."""
    fields = _stat(pid)
    if fields is None:
        return None
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):  # worker processes, when there are any
        if entry.isdigit():
            child = _stat(int(entry))
            if child is not None and child[1] == str(pid):
                total += _cpu_seconds(int(entry)) or 0.0
    return total


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _process(name: str, args: list[str], env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    log = (OUT / f"{name}.log").open("wb")
    process = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_for(name: str, process: subprocess.Popen[bytes], probe: str, method: str = "GET") -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bench: {name} exited with {process.returncode}; see {OUT / (name + '.log')}")
        with contextlib.suppress(httpx.TransportError):
            if method == "GET":
                response = httpx.get(probe, timeout=2)
            else:
                response = httpx.post(probe, json={"query": "{ __typename }"}, timeout=2)
            if response.status_code == 200:
                return
        time.sleep(0.1)
    raise SystemExit(f"bench: {name} did not become ready; see {OUT / (name + '.log')}")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if match is None:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return float(match[1]) * _UNITS[match[2]]


def _wrk(url: str, body: Path, duration: int, connections: int, threads: int) -> Measurement:
    result = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "30s",
            "--latency",
            "-s",
            str(BENCH / "post.lua"),
            url,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "BENCH_BODY": str(body)},
        check=True,
    )
    out = result.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    if rps is None or p50 is None or p99 is None:
        raise SystemExit(f"bench: cannot read wrk output:\n{out}\n{result.stderr}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:(.*)", out)
    total = re.search(r"(\d+) requests in", out)
    return Measurement(
        requests_per_second=float(rps[1]),
        p50_ms=_ms(p50[1]),
        p99_ms=_ms(p99[1]),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=errors[1].strip() if errors else None,
        requests=int(total[1]) if total else 0,
    )


def _measure(
    url: str, body: Path, duration: int, connections: int, threads: int, pid: int, sub_pid: int
) -> Measurement:
    """One wrk run, with the CPU time the gateway (and the subgraphs) spent per request during it."""
    before, sub_before = _cpu_seconds(pid), _cpu_seconds(sub_pid)
    m = _wrk(url, body, duration, connections, threads)
    after, sub_after = _cpu_seconds(pid), _cpu_seconds(sub_pid)
    if m.requests and before is not None and after is not None:
        m.cpu_ms_per_request = (after - before) * 1000 / m.requests
    if m.requests and sub_before is not None and sub_after is not None:
        m.subgraph_cpu_ms_per_request = (sub_after - sub_before) * 1000 / m.requests
    return m


UNPROTECTED = "python gateway, protections off"
# Environment of the comparison gateway with every protection off (0 turns a limit off).
PROTECTIONS_OFF: dict[str, str] = {
    **{
        f"GATEWAY_MAX_{name}": "0"
        for name in (
            "TOKENS",
            "DEPTH",
            "HEIGHT",
            "ALIASES",
            "ROOT_FIELDS",
            "DIRECTIVES",
            "FRAGMENTS",
            "INTROSPECTION_FIELDS",
        )
    },
    "GATEWAY_DEMAND_CONTROL_MODE": "off",
    "GATEWAY_APQ_ENABLED": "false",
    "GATEWAY_CIRCUIT_BREAKER_ENABLED": "false",
    "GATEWAY_RETRY_ATTEMPTS": "0",
    "GATEWAY_HEADER_TIMEOUT": "0",
    "GATEWAY_BODY_TIMEOUT": "0",
    "GATEWAY_MAX_HEADER_BYTES": "0",
    "GATEWAY_ROUTER_TIMEOUT": "0",
}


def main() -> int:
    """Run the comparison; exit 1 when the answers differ or a gateway answered errors."""
    duration = int(os.environ.get("BENCH_DURATION", "15"))
    connections = int(os.environ.get("BENCH_CONNECTIONS", "16"))
    threads = int(os.environ.get("BENCH_THREADS", "1"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "1"))
    OUT.mkdir(exist_ok=True)
    node = BENCH / "node_modules" / ".bin" / "node"
    sub_port, ours_port, apollo_port = _free_port(), _free_port(), _free_port()
    supergraph = OUT / "supergraph.graphql"
    supergraph.write_text(supergraph_sdl(f"http://127.0.0.1:{sub_port}"))
    body = OUT / "request.json"
    body.write_bytes(orjson.dumps({"query": HEAVY_QUERY}))
    node_version = subprocess.run([str(node), "--version"], capture_output=True, text=True, check=True).stdout.strip()

    with contextlib.ExitStack() as stack:
        subgraphs = stack.enter_context(
            _process("subgraphs", [sys.executable, str(BENCH / "subgraphs.py"), "--port", str(sub_port)])
        )
        _wait_for("subgraphs", subgraphs, f"http://127.0.0.1:{sub_port}/accounts", method="POST")
        workers = os.environ.get("BENCH_WORKERS", "1")
        serve = ["serve", "--supergraph", str(supergraph), "--port", str(ours_port)]
        if workers != "1":
            serve += ["--workers", workers]
        ours = stack.enter_context(
            _process(
                "gateway",
                [sys.executable, "-m", "gateway.cli", *serve],
                env={"GATEWAY_LOG_LEVEL": "warning", "GATEWAY_POLL_INTERVAL": "0"},
            )
        )
        bare = None
        if os.environ.get("BENCH_PROTECTIONS", "1") == "1":
            bare_port = _free_port()
            bare_serve = ["serve", "--supergraph", str(supergraph), "--port", str(bare_port)]
            bare = stack.enter_context(
                _process(
                    "gateway-unprotected",
                    [sys.executable, "-m", "gateway.cli", *bare_serve],
                    env={"GATEWAY_LOG_LEVEL": "warning", "GATEWAY_POLL_INTERVAL": "0", **PROTECTIONS_OFF},
                )
            )
            _wait_for("gateway-unprotected", bare, f"http://127.0.0.1:{bare_port}/health/ready")
        apollo = stack.enter_context(
            _process(
                "apollo-gateway",
                [str(node), str(BENCH / "apollo-gateway.mjs"), str(supergraph), str(apollo_port)],
                env={"NODE_ENV": "production"},
            )
        )
        _wait_for("gateway", ours, f"http://127.0.0.1:{ours_port}/health/ready")
        _wait_for("apollo-gateway", apollo, f"http://127.0.0.1:{apollo_port}/", method="POST")

        targets = {
            "python gateway": f"http://127.0.0.1:{ours_port}/graphql",
            f"apollo gateway (node {node_version})": f"http://127.0.0.1:{apollo_port}/",
        }
        pids = dict(zip(targets, (ours.pid, apollo.pid), strict=True))
        if bare is not None:
            targets[UNPROTECTED] = f"http://127.0.0.1:{bare_port}/graphql"
            pids[UNPROTECTED] = bare.pid
        answers: dict[str, bytes] = {}
        for name, url in targets.items():
            response = httpx.post(
                url, content=body.read_bytes(), headers={"content-type": "application/json"}, timeout=60
            )
            if response.status_code != 200:
                raise SystemExit(f"bench: {name} answered HTTP {response.status_code}: {response.text[:500]}")
            answers[name] = response.content
            (OUT / f"answer-{name.split()[0]}.json").write_bytes(response.content)
        decoded = [orjson.loads(a) for a in answers.values()]
        if any("errors" in d for d in decoded):
            raise SystemExit("bench: an answer has errors; see bench/.out/answer-*.json")
        if any(d != decoded[0] for d in decoded[1:]):
            raise SystemExit("bench: the two gateways answered differently; see bench/.out/answer-*.json")
        size = len(next(iter(answers.values())))
        print(
            f"answers identical: {size:,} bytes each"
            + (
                ", byte for byte"
                if len({a.rstrip() for a in answers.values()}) == 1
                else " (same JSON, different bytes)"
            )
        )

        for url in targets.values():  # warm up: plan caches, JIT, connection pools
            _wrk(url, body, 3, connections, threads)
        results: dict[str, list[Measurement]] = {name: [] for name in targets}
        for _ in range(rounds):
            for name, url in targets.items():
                results[name].append(_measure(url, body, duration, connections, threads, pids[name], subgraphs.pid))

    best = {name: max(runs, key=lambda m: m.requests_per_second) for name, runs in results.items()}
    workers = os.environ.get("BENCH_WORKERS", "1")
    print(
        f"\nwrk: {threads} thread(s), {connections} connections, {duration}s x {rounds} round(s), "
        f"python gateway {workers} process(es), "
        f"heavy query ({size:,} byte answer), {os.cpu_count()} CPUs shared by wrk, subgraphs and gateway"
    )
    print(f"{'gateway':<34} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'CPU ms/req':>11} {'subgraphs':>10}")
    for name, m in best.items():
        cpu = f"{m.cpu_ms_per_request:.2f}" if m.cpu_ms_per_request is not None else "-"
        sub = f"{m.subgraph_cpu_ms_per_request:.2f}" if m.subgraph_cpu_ms_per_request is not None else "-"
        print(f"{name:<34} {m.requests_per_second:>9.1f} {m.p50_ms:>9.1f} {m.p99_ms:>9.1f} {cpu:>11} {sub:>10}")
    unprotected = best.pop(UNPROTECTED, None)
    ours_m, apollo_m = best.values()
    if unprotected is not None and ours_m.cpu_ms_per_request and unprotected.cpu_ms_per_request:
        extra = ours_m.cpu_ms_per_request - unprotected.cpu_ms_per_request
        print(
            f"protections: {extra:+.2f} ms CPU per request ({extra / unprotected.cpu_ms_per_request:+.1%} of the "
            f"unprotected gateway's {unprotected.cpu_ms_per_request:.2f} ms; target under 10%)"
        )
    print(
        f"\nratio python/apollo: {ours_m.requests_per_second / apollo_m.requests_per_second:.2f}x requests/s, "
        f"p50 {ours_m.p50_ms / apollo_m.p50_ms:.2f}x, p99 {ours_m.p99_ms / apollo_m.p99_ms:.2f}x"
    )
    cpu = [m.cpu_ms_per_request for m in best.values()]
    if cpu[0] and cpu[1]:
        print(f"CPU per request python/apollo: {cpu[0] / cpu[1]:.2f}x (gateway process only; lower is better)")
    failed = False
    for name, runs in results.items():
        for m in runs:
            if m.non_2xx or m.socket_errors:
                print(f"bench: {name}: {m.non_2xx} non-2xx responses, socket errors: {m.socket_errors}")
                failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
