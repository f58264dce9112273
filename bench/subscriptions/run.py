"""``make bench-subscriptions``: WebSocket subscriptions through the Python gateway and Hive Gateway.

Both gateways load the same supergraph (composed here by ``gateway compose``) over the same
fast stand-in subgraphs (``bench/subscriptions/standin.py``): ``events`` has the subscription
field ``productChanged: Product!`` and ``catalog`` resolves two more fields of each event's
``Product``, so every event needs an entity fetch (per-event entity resolution). For each
gateway, one after the other on the same machine:

1. memory: RSS of the gateway with no subscriber and with ``BENCH_SUBSCRIBERS`` idle WebSocket
   subscribers (graphql-transport-ws, default 10,000, held by ``BENCH_CLIENT_PROCESSES`` client
   processes); the difference per subscriber is printed;
2. fan-out: ``BENCH_FANOUT_EVENTS`` events, one at a time, each delivered to every subscriber;
   delivery latency (receive time minus the time the stand-in emitted the event) p50/p99 over
   all deliveries, deliveries missing, and the gateway's CPU seconds per event;
3. event rate: ``BENCH_RATE_SUBSCRIBERS`` subscribers (default 100) and events emitted at
   ``BENCH_RATE`` events/s (default 50) for ``BENCH_RATE_SECONDS`` (default 5): the share
   delivered, p50/p99 latency and the gateway's CPU per delivered event.

The stand-in's ``/events/stats`` shows the upstream subscriptions each gateway opened (a
gateway that deduplicates holds one upstream subscription for all identical subscribers).
Then the ratios. ``bench/subscriptions/run.sh`` installs Hive Gateway and Node 22 first.
BENCH_ONLY=python or BENCH_ONLY=hive runs one side.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = HERE / ".out"
sys.path.insert(0, str(HERE.parent))

from run import _cpu_seconds, _free_port, _stat  # noqa: E402

QUERY = "subscription Watch { productChanged { id seq emittedAt name price } }"


def _knob(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


@dataclass
class Figures:
    """What one gateway measured."""

    name: str
    idle_rss_mb: float = 0.0
    loaded_rss_mb: float = 0.0
    subscribers: int = 0
    connect_seconds: float = 0.0
    upstream_subscriptions: int = 0
    fanout_p50_ms: float = 0.0
    fanout_p99_ms: float = 0.0
    fanout_missing: int = 0
    cpu_ms_per_fanout_event: float = 0.0
    rate_delivered: float = 0.0
    rate_p50_ms: float = 0.0
    rate_p99_ms: float = 0.0
    cpu_us_per_delivery: float = 0.0
    errors: str = ""

    @property
    def kb_per_subscriber(self) -> float:
        if not self.subscribers:
            return 0.0
        return (self.loaded_rss_mb - self.idle_rss_mb) * 1024 / self.subscribers


def _rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MiB."""
    total = 0
    pids = [pid] + [int(e) for e in os.listdir("/proc") if e.isdigit() and (_stat(int(e)) or ["", ""])[1] == str(pid)]
    for one in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


@contextlib.contextmanager
def _process(name: str, args: list[str], env: dict[str, str] | None = None,
             cwd: Path = ROOT) -> Iterator[subprocess.Popen[bytes]]:
    log = (OUT / f"{name}.log").open("wb")
    process = subprocess.Popen(args, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, **(env or {})})
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_http(name: str, process: subprocess.Popen[bytes], url: str, post: bool = False) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bench: {name} exited with {process.returncode}; see {OUT / (name + '.log')}")
        with contextlib.suppress(httpx.TransportError):
            response = (httpx.post(url, json={"query": "{ __typename }"}, timeout=2) if post
                        else httpx.get(url, timeout=2))
            if response.status_code == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"bench: {name} did not become ready; see {OUT / (name + '.log')}")


class Clients:
    """Client processes holding subscribers (bench/subscriptions/clients.py)."""

    def __init__(self, url: str, count: int, processes: int) -> None:
        self.processes: list[subprocess.Popen[str]] = []
        share = [count // processes + (1 if i < count % processes else 0) for i in range(processes)]
        started = time.monotonic()
        for n in share:
            if n:
                self.processes.append(subprocess.Popen(
                    [sys.executable, str(HERE / "clients.py"), "--url", url, "--count", str(n), "--query", QUERY],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT))
        self.count = 0
        for p in self.processes:
            line = p.stdout.readline() if p.stdout else ""
            if not line.startswith("ready"):
                raise SystemExit(f"bench: a client process failed to connect: {line!r}")
            self.count += int(line.split()[1])
        self.seconds = time.monotonic() - started

    def wait(self, seq: int, timeout: float) -> tuple[list[float], int]:
        """Every subscriber's latency for event ``seq`` (seconds), and the errors the clients saw."""
        for p in self.processes:
            assert p.stdin is not None
            p.stdin.write(f"wait {seq} {timeout}\n")
            p.stdin.flush()
        latencies: list[float] = []
        errors = 0
        for p in self.processes:
            assert p.stdout is not None
            _, _, _, path, errs = p.stdout.readline().split()
            latencies += orjson.loads(Path(path).read_bytes())
            Path(path).unlink()
            errors += int(errs)
        return latencies, errors

    def first_errors(self) -> str:
        for p in self.processes:
            assert p.stdin is not None and p.stdout is not None
            p.stdin.write("errors\n")
            p.stdin.flush()
            line = p.stdout.readline().strip()
            if line != "errors []":
                return line[7:300]
        return ""

    def close(self) -> None:
        for p in self.processes:
            with contextlib.suppress(BrokenPipeError, OSError):
                assert p.stdin is not None
                p.stdin.write("quit\n")
                p.stdin.flush()
        for p in self.processes:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _emit(standin: str, n: int = 1) -> int:
    return int(httpx.post(f"{standin}/events/emit?n={n}", timeout=120).json()["seq"])


def measure(name: str, pid: int, url: str, standin: str) -> Figures:
    """Run the three measurements against one gateway (already started)."""
    figures = Figures(name)
    subscribers = _knob("BENCH_SUBSCRIBERS", 10_000)
    processes = _knob("BENCH_CLIENT_PROCESSES", 2)
    time.sleep(1)
    figures.idle_rss_mb = _rss_mb(pid)
    clients = Clients(url, subscribers, processes)
    try:
        figures.subscribers = clients.count
        figures.connect_seconds = clients.seconds
        time.sleep(3)  # let every subscription reach the subgraph and the heap settle
        figures.loaded_rss_mb = _rss_mb(pid)
        figures.upstream_subscriptions = int(httpx.get(f"{standin}/events/stats").json()["subscriptions"])
        all_latencies: list[float] = []
        missing = 0
        events = _knob("BENCH_FANOUT_EVENTS", 5)
        cpu_before = _cpu_seconds(pid) or 0.0
        for _ in range(events):
            seq = _emit(standin)
            latencies, _errors = clients.wait(seq, 30)
            all_latencies += latencies
            missing += clients.count - len(latencies)
        figures.cpu_ms_per_fanout_event = ((_cpu_seconds(pid) or 0.0) - cpu_before) * 1000 / max(1, events)
        figures.fanout_p50_ms = _percentile(all_latencies, 0.50)
        figures.fanout_p99_ms = _percentile(all_latencies, 0.99)
        figures.fanout_missing = missing
        figures.errors = clients.first_errors()
    finally:
        clients.close()
    time.sleep(2)
    rate_clients = Clients(url, _knob("BENCH_RATE_SUBSCRIBERS", 100), 1)
    try:
        rate, seconds = _knob("BENCH_RATE", 50), _knob("BENCH_RATE_SECONDS", 5)
        time.sleep(1)
        cpu_before = _cpu_seconds(pid) or 0.0
        first = last = None
        started = time.monotonic()
        for tick in range(rate * seconds):
            seq = _emit(standin)
            first = first or seq
            last = seq
            pause = started + (tick + 1) / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        assert first is not None and last is not None
        delivered: list[float] = []
        got, _ = rate_clients.wait(last, 30)  # the last event arrives last: then every earlier one is in
        delivered += got
        for seq in range(first, last):
            got, _ = rate_clients.wait(seq, 0)
            delivered += got
        expected = (last - first + 1) * rate_clients.count
        cpu = (_cpu_seconds(pid) or 0.0) - cpu_before
        figures.rate_delivered = len(delivered) / expected if expected else 0.0
        figures.rate_p50_ms = _percentile(delivered, 0.50)
        figures.rate_p99_ms = _percentile(delivered, 0.99)
        figures.cpu_us_per_delivery = cpu * 1e6 / max(1, len(delivered))
    finally:
        rate_clients.close()
    return figures


def _compose(standin_port: int) -> Path:
    OUT.mkdir(exist_ok=True)
    for sdl in ("events", "catalog"):
        out = subprocess.run([sys.executable, str(HERE / "standin.py"), "--sdl", sdl], capture_output=True,
                             text=True, check=True).stdout
        (OUT / f"{sdl}.graphql").write_text(out)
    (OUT / "supergraph.yaml").write_text(
        "subgraphs:\n"
        f"  events:\n    routing_url: http://127.0.0.1:{standin_port}/events\n    schema: {{file: events.graphql}}\n"
        f"  catalog:\n    routing_url: http://127.0.0.1:{standin_port}/catalog\n    schema: {{file: catalog.graphql}}\n"
    )
    supergraph = OUT / "supergraph.graphql"
    subprocess.run([sys.executable, "-m", "gateway.cli", "compose", str(OUT / "supergraph.yaml"), "-o",
                    str(supergraph)], check=True, cwd=ROOT, capture_output=True)
    return supergraph


def _row(label: str, ours: float, theirs: float, unit: str, lower_is_better: bool) -> str:
    if theirs and ours:
        ratio = theirs / ours if lower_is_better else ours / theirs
        better = f"{ratio:.2f}x"
    else:
        better = "-"
    return f"| {label} | {ours:,.2f} {unit} | {theirs:,.2f} {unit} | {better} |"


def report(results: list[Figures]) -> None:
    for f in results:
        print(f"\n{f.name}: {f.subscribers} subscribers connected in {f.connect_seconds:.1f} s, "
              f"{f.upstream_subscriptions} upstream subscription(s) at the subgraph")
        print(f"  memory: {f.idle_rss_mb:.1f} MiB idle -> {f.loaded_rss_mb:.1f} MiB, "
              f"{f.kb_per_subscriber:.2f} KiB per idle subscriber")
        print(f"  fan-out: p50 {f.fanout_p50_ms:.0f} ms, p99 {f.fanout_p99_ms:.0f} ms, "
              f"{f.fanout_missing} deliveries missing, {f.cpu_ms_per_fanout_event:.0f} ms CPU per event")
        print(f"  rate: {f.rate_delivered:.1%} delivered, p50 {f.rate_p50_ms:.1f} ms, p99 {f.rate_p99_ms:.1f} ms, "
              f"{f.cpu_us_per_delivery:.0f} us CPU per delivery")
        if f.errors:
            print(f"  first client errors: {f.errors}")
    if len(results) == 2:
        ours, theirs = results
        print(f"\n| measure | {ours.name} | {theirs.name} | {ours.name} better by |")
        print("|---|---|---|---|")
        print(_row("memory per idle subscriber", ours.kb_per_subscriber, theirs.kb_per_subscriber, "KiB", True))
        print(_row("fan-out p50", ours.fanout_p50_ms, theirs.fanout_p50_ms, "ms", True))
        print(_row("fan-out p99", ours.fanout_p99_ms, theirs.fanout_p99_ms, "ms", True))
        print(_row("CPU per fan-out event", ours.cpu_ms_per_fanout_event, theirs.cpu_ms_per_fanout_event, "ms",
                   True))
        print(_row("event-rate p99", ours.rate_p99_ms, theirs.rate_p99_ms, "ms", True))
        print(_row("CPU per delivery", ours.cpu_us_per_delivery, theirs.cpu_us_per_delivery, "us", True))


def main() -> int:
    only = os.environ.get("BENCH_ONLY", "")
    standin_port = _free_port()
    supergraph = _compose(standin_port)
    standin = f"http://127.0.0.1:{standin_port}"
    results: list[Figures] = []
    subscribers = _knob("BENCH_SUBSCRIBERS", 10_000)
    with _process("standin", [sys.executable, str(HERE / "standin.py"), "--port", str(standin_port)]) as sp:
        _wait_http("standin", sp, f"{standin}/events/stats")
        if only in ("", "python"):
            port = _free_port()
            env = {
                # the benchmark's one tenant-less client holds every subscriber
                "GATEWAY_SUBSCRIPTIONS_MAX_PER_TENANT": str(subscribers * 2),
                "GATEWAY_MAX_CLIENT_CONNECTIONS": str(subscribers + 1000),
            }
            with _process("python-gateway", [sys.executable, "-m", "gateway.cli", "serve", "--supergraph",
                                             str(supergraph), "--port", str(port)], env) as gp:
                _wait_http("python-gateway", gp, f"http://127.0.0.1:{port}/graphql", post=True)
                results.append(measure("python", gp.pid, f"ws://127.0.0.1:{port}/graphql", standin))
        if only in ("", "hive"):
            port = _free_port()
            node = HERE / "node_modules" / ".bin" / "node"
            hive = HERE / "node_modules" / ".bin" / "hive-gateway"
            env = {"BENCH_SUPERGRAPH": str(supergraph), "BENCH_PORT": str(port)}
            with _process("hive-gateway", [str(node), str(hive), "supergraph", "-c",
                                           str(HERE / "hive-gateway.config.mjs")], env, cwd=HERE) as hp:
                _wait_http("hive-gateway", hp, f"http://127.0.0.1:{port}/graphql", post=True)
                results.append(measure("hive", hp.pid, f"ws://127.0.0.1:{port}/graphql", standin))
    report(results)
    return 0 if all(r.fanout_missing == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["Figures", "main"]
