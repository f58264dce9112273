"""One measured workload of ``make bench-dpp``: wrk (or the mutation client), CPU from /proc, SQL from /metrics."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


@dataclass
class Measurement:
    """One workload against one stack."""

    requests: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int = 0  # non-2xx answers, socket errors and GraphQL errors
    note: str = ""
    cpu_ms: dict[str, float] = field(default_factory=dict)  # process -> CPU ms per request
    sql: dict[str, float] = field(default_factory=dict)  # subgraph -> SQL statements per request
    wait_ms: dict[str, float] = field(default_factory=dict)  # process -> ms runnable but waiting for a CPU, per request
    probes: dict[str, dict[str, Any]] = field(default_factory=dict)  # process -> probe.py's report (--probe)
    client: dict[str, Any] = field(default_factory=dict)  # rate.py's own figures (p90, send lag, its CPU)
    machine: dict[str, float] = field(default_factory=dict)  # busy CPUs: everything, this stack, wall seconds

    @property
    def cpu_total(self) -> float:
        return sum(self.cpu_ms.values())


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """User + system CPU seconds of ``pid`` so far; with ``children``, of its children too.

    Children count whether they still run (their own /proc entry) or have exited and been
    reaped (the parent's cutime + cstime): PostgreSQL's backends come and go with the pools.
    """
    fields = _stat(pid)
    if fields is None:
        return 0.0
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    if children:
        total += (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                child = _stat(int(entry))
                if child is not None and child[1] == str(pid):
                    total += cpu_seconds(int(entry))
    return total


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, every process of every user (``/proc/stat``)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(ticks[:8]) - idle) / hz, sum(ticks[:8]) / hz


def wait_seconds(pid: int) -> float:
    """Seconds the threads of ``pid`` were runnable but not running.

    ``/proc/<pid>/task/<tid>/schedstat``'s second field: time on a run queue, waiting for a CPU.
    """
    total = 0.0
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                total += int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[1]) / 1e9
    return total


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if match is None:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return float(match[1]) * _UNITS[match[2]]


@dataclass(frozen=True)
class Load:
    """How hard and how long: wrk connections and threads, seconds, Zipf exponent."""

    connections: int = 8
    threads: int = 1
    duration: float = 8.0
    warmup: float = 2.0
    zipf: float = 1.0
    mutation_concurrency: int = 4


def run_wrk(url: str, bodies: Path, load: Load, duration: float, *, zipf: bool, token: str = "") -> Measurement:
    """wrk with ``workload.lua`` over the bodies in ``bodies``."""
    env = {
        **os.environ,
        "BENCH_BODIES": str(bodies),
        "BENCH_ZIPF": str(load.zipf if zipf else 0),
        "BENCH_TOKEN": token,
    }
    command = [
        "wrk",
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "30s",
        "--latency",
        "-s",
        str(HERE / "workload.lua"),
        url,
    ]
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    total = re.search(r"(\d+) requests in", out)
    if rps is None or p50 is None or p99 is None or total is None:
        raise SystemExit(f"bench-dpp: cannot read wrk output:\n{out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    graphql = re.search(r"GraphQL errors: (\d+)", out)
    errors = (int(non_2xx[1]) if non_2xx else 0) + (int(graphql[1]) if graphql else 0)
    errors += sum(int(n) for n in sockets.groups()) if sockets else 0
    first = re.search(r"^First error: (.*)$", out, re.M)
    note = f"first error: {first[1]}" if first and errors else ""
    return Measurement(int(total[1]), float(rps[1]), _ms(p50[1]), _ms(p99[1]), errors, note)


def run_mutations(url: str, token: str, load: Load, duration: float, mix: Mapping[str, str]) -> Measurement:
    """The mutation mix (``mutate.py``) in a process of its own."""
    command = [sys.executable, str(HERE / "mutate.py"), "--url", url, "--token", token]
    command += ["--duration", str(duration), "--concurrency", str(load.mutation_concurrency)]
    for key, value in mix.items():
        command += [f"--{key}", value]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    note = f"first error: {result['first_error']}" if result.get("first_error") else ""
    return Measurement(
        result["requests"], result["requests_per_second"], result["p50_ms"], result["p99_ms"], result["errors"], note
    )


def run_rate(
    url: str, bodies: Path, load: Load, duration: float, rate: float, *, zipf: bool, token: str = ""
) -> Measurement:
    """``rate.py``: ``rate`` requests per second on a fixed schedule, latency from the scheduled instant."""
    command = [sys.executable, str(HERE / "rate.py"), "--url", url, "--bodies", str(bodies), "--rate", f"{rate:.1f}"]
    command += ["--duration", str(duration), "--zipf", str(load.zipf if zipf else 0), "--token", token]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    note = f"first error: {result['first_error']}" if result.get("first_error") else ""
    m = Measurement(
        result["requests"], result["requests_per_second"], result["p50_ms"], result["p99_ms"], result["errors"], note
    )
    m.client = {k: v for k, v in result.items() if k not in ("requests", "errors", "first_error")}
    return m


def measured(
    drive: Callable[[], Measurement],
    pids: Mapping[str, int],
    statements: Callable[[], dict[str, float]],
    *,
    children: frozenset[str] = frozenset(),
    profile: tuple[Path, str] | None = None,
    probe: tuple[Path, str] | None = None,
) -> Measurement:
    """Run ``drive`` and attach the CPU each process in ``pids`` spent and the statements run, per request.

    ``children``: processes whose live children count too (PostgreSQL's backends). ``profile``:
    (profile directory, workload name): the processes profile this run only (``launch.py``'s hook);
    ``probe``: the same for ``probe.py``'s measurements, attached to the result.
    """
    signalled = [d for d in (profile, probe) if d is not None]
    for directory, workload in signalled:
        (directory / ".workload").write_text(workload)
    if probe is not None:  # an earlier round's files must not pass for this one's
        for name in pids:
            (probe[0] / probe[1] / f"{name}.json").unlink(missing_ok=True)
    if signalled:
        for name, pid in pids.items():
            if name not in children:
                os.kill(pid, signal.SIGUSR1)
    sql_before = statements()
    cpu_before = {name: cpu_seconds(pid, children=name in children) for name, pid in pids.items()}
    # Run-queue wait of the stack's own processes: a parent does not inherit its exited children's
    # (PostgreSQL's backends come and go), so the server's would undercount.
    waited = {name: pid for name, pid in pids.items() if name not in children}
    wait_before = {name: wait_seconds(pid) for name, pid in waited.items()}
    busy_before, started = machine_busy(), time.monotonic()
    m = drive()
    busy_after, wall = machine_busy(), time.monotonic() - started
    cpu_after = {name: cpu_seconds(pid, children=name in children) for name, pid in pids.items()}
    wait_after = {name: wait_seconds(pid) for name, pid in waited.items()}
    sql_after = statements()
    if signalled:
        for name, pid in pids.items():
            if name not in children:
                os.kill(pid, signal.SIGUSR2)
        time.sleep(0.5)  # the processes write their profiles
    if probe is not None:
        deadline = time.monotonic() + 10  # a loaded machine may take a while to run the signal handlers
        for name in pids:
            if name in children:
                continue
            target = probe[0] / probe[1] / f"{name}.json"
            while not target.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            with contextlib.suppress(OSError, ValueError):
                m.probes[name] = json.loads(target.read_text())
    if m.requests:
        m.cpu_ms = {name: (cpu_after[name] - cpu_before[name]) * 1000 / m.requests for name in pids}
        m.wait_ms = {name: (wait_after[name] - wait_before[name]) * 1000 / m.requests for name in waited}
        m.machine = {
            "busy_cpus": (busy_after[0] - busy_before[0]) / wall,  # of os.cpu_count(): everyone's work
            "stack_cpus": sum(cpu_after[n] - cpu_before[n] for n in pids) / wall,  # this stack's processes
            "seconds": wall,
        }
        m.sql = {name: (sql_after[name] - sql_before.get(name, 0.0)) / m.requests for name in sql_after}
    return m
