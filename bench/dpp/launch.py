"""One process of the stack under ``make bench-dpp``: a subgraph or the gateway, as in production.

``launch.py subgraph NAME`` runs ``dpp-subgraph NAME --no-seed``; ``launch.py gateway ARGS...``
runs ``gateway ARGS...``: the same entry points docker-compose starts, one process each, in the
checkout on ``PYTHONPATH`` (``bench/dpp/run.py --tree`` points it at another checkout).

The profile hook, on only when ``BENCH_PROFILE_DIR`` is set: SIGUSR1 starts cProfile on the
event loop's thread, SIGUSR2 stops it and writes ``$BENCH_PROFILE_DIR/<workload>/<process>.prof``,
where ``<workload>`` is read from ``$BENCH_PROFILE_DIR/.workload`` (written by the bench before it
signals). The bench profiles each process during each workload's measured run only, not startup.
(cProfile sees the main thread: aiosqlite's worker thread and the C parts of asyncpg show up only
as the time the loop waits for them.) With ``BENCH_PROBE_DIR`` set, the same signals clear and write
``probe.py``'s server time, GC pauses and event-loop lag (``<dir>/<workload>/<process>.json``).
"""

from __future__ import annotations

import cProfile
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from probe import Probe


class ProfileHook:
    """Starts and stops cProfile on signals; each stop writes one file. With a probe, clears and writes it too."""

    def __init__(self, directory: Path | None, process: str, probe: Probe | None = None) -> None:
        self.directory = directory
        self.process = process
        self.probe = probe
        self.profiler: cProfile.Profile | None = None

    def install(self) -> None:
        """Handle SIGUSR1 (start) and SIGUSR2 (stop and write)."""
        signal.signal(signal.SIGUSR1, self.start)
        signal.signal(signal.SIGUSR2, self.stop)

    def start(self, _signum: int, _frame: FrameType | None) -> None:
        if self.probe is not None:
            self.probe.clear()
        if self.directory is not None and self.profiler is None:
            self.profiler = cProfile.Profile()
            self.profiler.enable()

    def stop(self, _signum: int, _frame: FrameType | None) -> None:
        if self.probe is not None:
            self.probe.write()
        profiler, self.profiler = self.profiler, None
        if profiler is None or self.directory is None:
            return
        profiler.disable()
        marker = self.directory / ".workload"
        workload = marker.read_text().strip() if marker.exists() else "run"
        target = self.directory / workload / f"{self.process}.prof"
        target.parent.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(str(target))


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("subgraph", "gateway"):
        print("usage: launch.py subgraph NAME | launch.py gateway ARGS...", file=sys.stderr)
        return 2
    kind, rest = argv[0], argv[1:]
    process = rest[0] if kind == "subgraph" else "gateway"
    profile_dir = os.environ.get("BENCH_PROFILE_DIR")
    probe_dir = os.environ.get("BENCH_PROBE_DIR")
    probe = Probe(Path(probe_dir), process) if probe_dir else None
    if probe is not None:
        probe.install()
    if profile_dir or probe is not None:
        ProfileHook(Path(profile_dir) if profile_dir else None, process, probe).install()
    if kind == "subgraph":
        from subgraphs.cli import subgraph_main

        return subgraph_main([rest[0], "--no-seed", *rest[1:]])
    from gateway.cli import main as gateway_main

    return int(gateway_main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
