"""``make test``'s runner: the suite as two pytest processes side by side, on disjoint halves of ``tests/``.

Most of the suite's wall time is one Python thread (a test and the uvicorn servers it talks to share
one process and its GIL) waiting on loopback, PostgreSQL or a subprocess: a single pytest process
keeps about one of CI's two cores busy. Two processes over disjoint halves keep both busy. Each half is
a complete pytest session of its own (its own PostgreSQL cluster, Redis, identity issuers; every
directory of the suite passes alone), so no test changes and nothing is shared between them.

```
python -m tests.support.shards [--jobs 1|2] -- <pytest arguments>
```

The first half's output streams live; the other's is printed when both are done. Then :data:`ALONE`,
the tests that bound a latency while they load the machine themselves (an attack with a prober beside
it), run in a third pytest with nothing else of the run beside them, as in a single process. Last, one
line per pytest. The exit status is the first non-zero status (0 when all passed). ``--jobs 1`` runs
one pytest over everything, as before.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# Run after the halves, alone: each asserts that other clients are answered within 2 s during an attack.
ALONE: tuple[str, ...] = ("tests/subgraphs/test_attacks.py", "tests/gateway_http/test_attacks.py")
_NOT_ALONE = tuple(f"--ignore={path}" for path in ALONE)
# Disjoint and complete with ALONE: tests/subgraphs, and everything else (about half of the time each).
SHARDS: tuple[tuple[str, ...], ...] = (
    ("tests/subgraphs", *_NOT_ALONE),
    ("tests", "--ignore=tests/subgraphs", *_NOT_ALONE),
)


@dataclass(frozen=True)
class Finished:
    """A pytest's paths, exit status, seconds from the start to its end, the last line it printed (its summary)."""

    paths: tuple[str, ...]
    status: int
    seconds: float
    summary: str


def last_line(text: str) -> str:
    """The last non-empty line of ``text`` (pytest's summary line)."""
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def run(pytest_args: list[str], jobs: int) -> int:
    """Run the suite (``jobs`` processes side by side); the exit status (see the module docstring)."""
    command = [sys.executable, "-m", "pytest", *pytest_args]
    if jobs <= 1:
        return subprocess.call(command)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dpp-shards-") as logs:
        log_paths = [Path(logs) / f"shard-{n}.log" for n in range(1, len(SHARDS))]
        log_files = [path.open("wb") for path in log_paths]
        background = [
            subprocess.Popen([*command, *paths], stdout=log, stderr=subprocess.STDOUT)
            for paths, log in zip(SHARDS[1:], log_files, strict=True)
        ]
        try:
            first = subprocess.Popen([*command, *SHARDS[0]])
            first_status = first.wait()
            first_seconds = time.monotonic() - started
            statuses = [process.wait() for process in background]
        except BaseException:
            for process in background:
                process.terminate()
            raise
        finally:
            for log in log_files:
                log.close()
        ended = time.monotonic() - started
        finished = [Finished(SHARDS[0], first_status, first_seconds, "")]
        for paths, path, status in zip(SHARDS[1:], log_paths, statuses, strict=True):
            text = path.read_text(errors="replace")
            print(f"\n===== pytest {' '.join(paths)} =====", flush=True)
            sys.stdout.write(text)
            finished.append(Finished(paths, status, ended, last_line(text)))
    print(f"\n===== pytest {' '.join(ALONE)} (alone) =====", flush=True)
    alone_status = subprocess.call([*command, *ALONE])
    finished.append(Finished(ALONE, alone_status, time.monotonic() - started, ""))
    print(f"\n===== {len(SHARDS)} pytest processes side by side ({ended:.0f} s), then one alone =====")
    for part in finished:
        note = f": {part.summary}" if part.summary else " (output above)"
        print(f"{' '.join(part.paths)}: exit {part.status} at {part.seconds:.0f} s{note}")
    return next((part.status for part in finished if part.status != 0), 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--jobs", type=int, default=2, help="pytest processes side by side (1 or 2)")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: arguments for every pytest")
    options = parser.parse_args(argv)
    pytest_args = options.pytest_args[1:] if options.pytest_args[:1] == ["--"] else options.pytest_args
    return run(pytest_args, options.jobs)


if __name__ == "__main__":
    raise SystemExit(main())
