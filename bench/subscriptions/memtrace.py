"""Where the gateway's memory per idle WebSocket subscriber goes (tracemalloc, by allocation site).

Starts the stand-in subgraphs and ``gateway serve`` under tracemalloc (as ``make bench-subscriptions``
does, same supergraph), takes a snapshot, opens ``BENCH_SUBSCRIBERS`` (default 2,000) idle
graphql-transport-ws subscribers, takes another, and prints the bytes per subscriber by file
and by line (top ``BENCH_TRACE_TOP``, default 25), plus RSS per subscriber; with ``GATEWAY_TRACE_FRAMES=N``
(N > 1) the top call stacks too, N frames deep. The traced process
is slower and larger than an untraced one: compare sites, not totals, with ``make bench-subscriptions``.

    .venv/bin/python bench/subscriptions/memtrace.py
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("subscriptions_run", HERE / "run.py")
assert _spec is not None and _spec.loader is not None
_bench = sys.modules["subscriptions_run"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bench)  # bench/subscriptions/run.py (it puts bench/ first on sys.path)
Clients, _compose, _knob, _process, _rss_mb, _wait_http = (
    _bench.Clients,
    _bench._compose,
    _bench._knob,
    _bench._process,
    _bench._rss_mb,
    _bench._wait_http,
)
_free_port = sys.modules["run"]._free_port  # bench/run.py

# The gateway under trace: a snapshot is dumped to the file named by GATEWAY_TRACE_OUT on SIGUSR1.
_TRACED = """
import os, signal, sys, tracemalloc
tracemalloc.start(int(os.environ.get("GATEWAY_TRACE_FRAMES", "1")))
def dump(*_):
    import gc
    gc.collect()
    tracemalloc.take_snapshot().dump(os.environ["GATEWAY_TRACE_OUT"])
    open(os.environ["GATEWAY_TRACE_OUT"] + ".done", "w").close()
signal.signal(signal.SIGUSR1, lambda *_: __import__("asyncio").get_event_loop().call_soon_threadsafe(dump))
from gateway.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _snapshot(pid: int, path: str) -> tracemalloc.Snapshot:
    done = Path(path + ".done")
    done.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 120
    while not done.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    snapshot = tracemalloc.Snapshot.load(path)
    return snapshot.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])


def main() -> int:
    count = _knob("BENCH_SUBSCRIBERS", 2000)
    top = _knob("BENCH_TRACE_TOP", 25)
    standin_port = _free_port()
    supergraph = _compose(standin_port)
    standin = f"http://127.0.0.1:{standin_port}"
    out = tempfile.mkdtemp(prefix="memtrace-")
    with _process("standin", [sys.executable, str(HERE / "standin.py"), "--port", str(standin_port)]) as sp:
        _wait_http("standin", sp, f"{standin}/events/stats")
        port = _free_port()
        env = {
            "GATEWAY_SUBSCRIPTIONS_MAX_PER_TENANT": str(count * 2),
            "GATEWAY_MAX_CLIENT_CONNECTIONS": str(count + 1000),
            "GATEWAY_TRACE_OUT": f"{out}/snap",
        }
        args = [sys.executable, "-c", _TRACED, "serve", "--supergraph", str(supergraph), "--port", str(port)]
        with _process("traced-gateway", args, env) as gp:
            _wait_http("traced-gateway", gp, f"http://127.0.0.1:{port}/graphql", post=True)
            time.sleep(1)
            before = _snapshot(gp.pid, f"{out}/snap")
            rss_before = _rss_mb(gp.pid)
            clients = Clients(f"ws://127.0.0.1:{port}/graphql", count, 1)
            try:
                time.sleep(3)
                after = _snapshot(gp.pid, f"{out}/snap")
                rss_after = _rss_mb(gp.pid)
            finally:
                clients.close()
    n = clients.count
    for key in ("filename", "lineno"):
        stats = after.compare_to(before, key)
        total = sum(s.size_diff for s in stats)
        print(f"\nby {key}: {total / n:,.0f} B per subscriber traced ({n} subscribers)")
        for stat in stats[:top]:
            frame = stat.traceback[0]
            where = frame.filename.replace(str(Path(sys.prefix)), "<venv>").replace(str(HERE.parent.parent), ".")
            site = where if key == "filename" else f"{where}:{frame.lineno}"
            print(f"  {stat.size_diff / n:8,.0f} B  {stat.count_diff / n:6.2f} blocks  {site}")
    if int(os.environ.get("GATEWAY_TRACE_FRAMES", "1")) > 1:  # where the top sites were called from
        for stat in after.compare_to(before, "traceback")[:top]:
            print(f"\n{stat.size_diff / n:,.0f} B per subscriber from:")
            for line in stat.traceback.format()[-2 * int(os.environ["GATEWAY_TRACE_FRAMES"]) :]:
                print("    " + line.strip())
    print(f"\nRSS (traced): {(rss_after - rss_before) * 1024 / n:.2f} KiB per subscriber")
    return 0


if __name__ == "__main__":
    sys.exit(main())
