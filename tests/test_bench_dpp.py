"""``make bench-dpp`` works: the harness at a tiny scale (100 products, 1-second workloads) prints its table
(about 40 s a test: marked slow).

The numbers are not checked (two shared cores); that every workload ran without an error against
the real stack (four subgraphs and the gateway, one process each), that the table has every
column, and, side by side with a second checkout (``--tree``, here the same one), the ratios and
the per-process profiles.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = (
    "typename-passport",
    "typename-gateway",
    "qr-gateway",
    "qr-gateway@80%",
    "qr-passport",
    "dashboard",
    "catalog",
    "mutations",
)


def _bench(tmp_path: Path, *args: str) -> str:
    tiny = ["--products", "100", "--duration", "1", "--warmup", "1", "--workdir", str(tmp_path / "work")]
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "dpp" / "run.py"), *tiny, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done.stdout


def _sql(cells: list[str]) -> float:
    """The SQL statements per request of a table row (after the second ``|``)."""
    return float(cells[cells.index("|", 6) + 1])


def _rows(out: str, title: str) -> dict[str, list[str]]:
    """The rows of the table under ``title``: workload -> its cells."""
    lines = out.split("\n" + title, 1)[1].split("\n\n", 1)[0].splitlines()
    return {line.split()[0]: line.split() for line in lines if line.split() and line.split()[0] in WORKLOADS}


@pytest.mark.slow
def test_the_bench_prints_every_workload_with_cpu_and_sql_per_request(tmp_path: Path) -> None:
    out = _bench(tmp_path, "--db", "sqlite")
    assert "seeded this: 160 products, 109 passports" in out
    header = next(line for line in out.splitlines() if line.startswith("workload") and "SQL/req" in line)
    for column in ("req/s", "p50 ms", "p99 ms", "gateway", "identity", "catalog", "templates", "passport"):
        assert column in header
    rows = _rows(out, "sqlite, this")
    assert set(rows) == set(WORKLOADS)
    for name, cells in rows.items():
        assert float(cells[1]) >= 0, name  # requests/s (a cold path may finish nothing in 1 s on a loaded machine)
        assert cells[4] == "0", (name, cells)  # no error answers
        assert len(cells[6 : cells.index("|", 6)]) == 6  # CPU ms per request: five processes and the total
    assert float(rows["typename-passport"][1]) > 0, out
    assert _sql(rows["typename-passport"]) == 0, out  # { __typename } runs no SQL
    if float(rows["mutations"][1]) > 0:
        assert _sql(rows["mutations"]) > 0, out  # writes reach the database (reads may be served from a cache)
    assert "a loaded machine" in out


@pytest.mark.slow
@pytest.mark.postgres
def test_the_bench_compares_two_checkouts_on_postgres_and_writes_profiles(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    out = _bench(
        tmp_path,
        "--db",
        "postgres",
        "--tree",
        str(ROOT),
        "--workloads",
        "typename-passport,qr-gateway",
        "--profile",
        str(profiles),
    )
    for label in ("before", "after"):
        rows = _rows(out, f"postgres, {label}")
        assert set(rows) == {"typename-passport", "qr-gateway"}
        assert "postgres" in out.split(f"\npostgres, {label}", 1)[1].splitlines()[1]  # the server's CPU column
    ratios = _rows(out, "postgres: after / before")
    assert set(ratios) == {"typename-passport", "qr-gateway"}
    assert all(cell.endswith("x") for cells in ratios.values() for cell in cells[1:])
    for process in ("gateway", "identity", "catalog", "templates", "passport"):
        assert (profiles / "postgres" / "after" / "qr-gateway" / f"{process}.prof").stat().st_size > 0


@pytest.fixture
def run() -> Iterator[Any]:
    """bench/dpp/run.py as a module; the sys.path entries and sibling modules it imports are undone after."""
    path, modules = list(sys.path), set(sys.modules)
    spec = importlib.util.spec_from_file_location("bench_dpp_run", ROOT / "bench" / "dpp" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path[:] = path
        for name in set(sys.modules) - modules:
            if name in ("measure", "report", "stack", "workloads", "seed", "launch", "probe", "floor", "mutate"):
                del sys.modules[name]


def test_errors_fail_the_run_only_in_the_tree_measured(run: Any, capsys: pytest.CaptureFixture[str]) -> None:
    Measurement = run.Measurement
    clean, broken = Measurement(10, 10.0, 1.0, 2.0), Measurement(10, 10.0, 1.0, 2.0, errors=1, note="first error: x")
    # an old revision's error (--before-rev) is printed, and the run still succeeds
    assert run.exit_status({"postgres": {"before": {"mutations": broken}, "after": {"mutations": clean}}}) == 0
    assert "bench-dpp: postgres before mutations: 1 errors first error: x" in capsys.readouterr().out
    # the tree measured: any error fails it, alone or side by side
    assert run.exit_status({"sqlite": {"this": {"dashboard": broken}}}) == 1
    assert run.exit_status({"postgres": {"before": {"mutations": clean}, "after": {"mutations": broken}}}) == 1
    assert run.exit_status({"sqlite": {"this": {"dashboard": clean}}}) == 0
