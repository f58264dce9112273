"""``make bench-dpp``: the real DPP stack measured as its users use it.

Starts PostgreSQL (a throwaway cluster, as the tests do) and/or uses SQLite files, seeds
``--products`` products and one passport each (most of them published) across the demo
tenants, starts the four subgraphs and the gateway as one uvicorn process each, and drives
each workload (``workloads.py``) with wrk (the mutation mix with ``mutate.py``, whose requests
depend on each other's answers). Prints, per workload, requests/s, p50/p99 latency, the CPU
milliseconds each process spent per request (user + system from /proc; ``postgres`` sums the
server's backends) and the SQL statements per request (the subgraphs' ``/metrics`` counters).

``--tree PATH`` (or ``--before-rev REV``, cloned into the work directory) also runs the stack of
another checkout, side by side: per workload the other checkout is measured first, then this one,
back to back on the same machine, each on databases of its own seeded by its own code; then the
ratios. ``--profile DIR`` writes a cProfile file per process and workload.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
KEEP_RUNS = 5  # run directories kept under <workdir>/runs (logs; the databases are removed after each run)
sys.path[:0] = [str(HERE), str(ROOT)]

from measure import Load, Measurement, measured, run_mutations, run_rate, run_wrk  # noqa: E402
from report import print_breakdown, print_markdown, print_ratios, print_table  # noqa: E402
from stack import SERVICES, BenchStack, floor_server, running  # noqa: E402
from workloads import PACED_SHARE, WORKLOADS, Workload, mutation_mix, write_bodies  # noqa: E402

from tests.support.postgres import PostgresServer  # noqa: E402


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench/dpp/run.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--products", type=int, default=10_000, help="bulk products, one passport each")
    parser.add_argument("--duration", type=float, default=8.0, help="measured seconds per workload and stack")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each measurement")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--zipf", type=float, default=1.0, help="Zipf exponent of the QR path's uuid popularity")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds per workload; the best counts")
    parser.add_argument("--mutation-concurrency", type=int, default=4, help="concurrent mutation chains")
    parser.add_argument("--workloads", default=",".join(w.name for w in WORKLOADS), help="comma separated")
    parser.add_argument("--tree", type=Path, help="another checkout to measure side by side (the 'before')")
    parser.add_argument("--before-rev", help="clone this revision of this repository as --tree")
    parser.add_argument("--profile", type=Path, help="write cProfile files per process and workload here")
    parser.add_argument(
        "--probe",
        action="store_true",
        help="per process: server time, GC pauses, event-loop lag (bench/dpp/probe.py); printed per workload",
    )
    parser.add_argument(
        "--no-sharing",
        action="store_true",
        help="GATEWAY_DEDUP_QUERIES=false in every stack: concurrent identical requests (wrk sends one dashboard "
        "body) share no subgraph fetch and no execution, so each request costs what a distinct user's would",
    )
    parser.add_argument("--workdir", type=Path, default=HERE.parent / ".out" / "dpp", help="logs, data, bodies")
    return parser


def _clone(rev: str, workdir: Path) -> Path:
    """A clone of this repository at ``rev`` (kept between runs)."""
    target = workdir / "trees" / rev
    if not (target / ".git").exists():
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(target)], check=True)
        subprocess.run(["git", "-C", str(target), "checkout", "--quiet", rev], check=True)
    return target


def _describe(tree: Path) -> str:
    done = subprocess.run(["git", "-C", str(tree), "log", "-1", "--format=%h"], capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "-C", str(tree), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
    )
    return (done.stdout.strip() or "?") + ("+changes" if dirty.stdout.strip() else "")


def _measure(
    workload: Workload,
    stack: BenchStack,
    load: Load,
    bodies: dict[str, Path],
    extra_pids: dict[str, int],
    peak: float | None,
    floor: str | None = None,
) -> Measurement:
    target = stack.gateway if workload.target == "gateway" else stack.url(workload.target)
    token = stack.token if workload.signed_in else ""
    profile = stack.profile_dir
    probe = stack.probe_dir

    def drive(seconds: float) -> Measurement:
        if workload.mutations:
            return run_mutations(stack.gateway, stack.token, load, seconds, mutation_mix())
        if peak is not None:
            rate = max(1.0, PACED_SHARE * peak)
            return run_rate(target, bodies[workload.name], load, seconds, rate, zipf=workload.zipf, token=token)
        return run_wrk(target, bodies[workload.name], load, seconds, zipf=workload.zipf, token=token)

    if load.warmup > 0:
        drive(load.warmup)
    m = measured(
        lambda: drive(load.duration),
        {**stack.pids(), **extra_pids},
        stack.statements,
        children=frozenset(extra_pids),
        profile=(profile, workload.name) if profile is not None else None,
        probe=(probe, workload.name) if probe is not None else None,
    )
    if peak is not None and floor is not None:
        # The same schedule against a server that does nothing, right after: the machine's floor now.
        rate = max(1.0, PACED_SHARE * peak)
        base = run_rate(floor, bodies[workload.name], load, load.duration, rate, zipf=workload.zipf)
        m.client["floor"] = {"p50_ms": base.p50_ms, "p99_ms": base.p99_ms, **base.client}
    return m


def run_backend(
    db: str, stacks: list[BenchStack], args: argparse.Namespace, load: Load, postgres: PostgresServer | None
) -> dict[str, dict[str, Measurement]]:
    """Seed, start and measure every stack on ``db``; label -> workload -> measurement."""
    workloads = [w for w in WORKLOADS if w.name in args.workloads.split(",")]
    extra = {}
    if postgres is not None:
        extra["postgres"] = int((postgres.data / "postmaster.pid").read_text().split()[0])
    for stack in stacks:
        started = time.monotonic()
        seeded = stack.seed(args.products)
        print(
            f"{db}: seeded {stack.label}: {seeded['products']:,} products, {seeded['passports']:,} passports, "
            f"{len(seeded['published_uuids']):,} published ({time.monotonic() - started:.0f} s)",
            flush=True,
        )
    bodies_dir = args.run_dir / db / "bodies"
    bodies_dir.mkdir(parents=True, exist_ok=True)
    uuids = stacks[-1].seeded["published_uuids"]
    bodies = {w.name: write_bodies(w, bodies_dir, uuids) for w in workloads if not w.mutations}
    results: dict[str, dict[str, Measurement]] = {s.label: {} for s in stacks}
    with contextlib.ExitStack() as running_stacks:
        for stack in stacks:
            running_stacks.enter_context(running(stack))
        paced = any(w.paced_by is not None for w in workloads)
        floor = running_stacks.enter_context(floor_server()) if paced else None
        print(f"{db}: {len(stacks)} stack(s) up ({len(SERVICES) + 1} processes each); measuring", flush=True)
        _check_answers(db, workloads, stacks, bodies)
        for workload in workloads:
            for _round in range(args.rounds):
                for stack in stacks:
                    peak = None
                    if workload.paced_by is not None:
                        if workload.paced_by not in results[stack.label]:
                            print(f"  {db} {stack.label}: {workload.name} skipped: needs {workload.paced_by}'s peak")
                            continue
                        peak = results[stack.label][workload.paced_by].requests_per_second
                    m = _measure(workload, stack, load, bodies, extra, peak, floor)
                    print(
                        f"  {db} {stack.label:<7} {workload.name:<18} {m.requests_per_second:9.1f} req/s "
                        f"p99 {m.p99_ms:7.1f} ms  errors {m.errors}",
                        flush=True,
                    )
                    kept = results[stack.label].get(workload.name)
                    if kept is None or _better(workload, m, kept):
                        results[stack.label][workload.name] = m
    return results


def _check_answers(db: str, workloads: list[Workload], stacks: list[BenchStack], bodies: dict[str, Path]) -> None:
    """Ask each read workload's first requests of every stack once: no errors, and the same answers everywhere.

    Both stacks hold the same seeded data, so a faster checkout must answer byte for byte alike
    (as JSON); a difference is printed (it may be intended), an error answer stops the bench.
    """
    for workload in workloads:
        if workload.mutations or workload.paced_by is not None:
            continue
        for line in bodies[workload.name].read_text().splitlines()[:3]:
            answers = []
            for stack in stacks:
                url = stack.gateway if workload.target == "gateway" else stack.url(workload.target)
                headers = {"content-type": "application/json"}
                if workload.signed_in:
                    headers["authorization"] = f"Bearer {stack.token}"
                answer = httpx.post(url, content=line, headers=headers, timeout=60).json()
                if "errors" in answer:
                    raise SystemExit(f"bench-dpp: {db} {stack.label} {workload.name} answered {answer['errors']}")
                answers.append(answer)
            if any(a != answers[0] for a in answers[1:]):
                print(f"  {db}: {workload.name}: the stacks answer differently to {line[:120]}...", flush=True)
    if len(stacks) > 1:
        print(f"  {db}: answers of the read workloads compared between the stacks", flush=True)


def _better(workload: Workload, m: Measurement, kept: Measurement) -> bool:
    """Of several rounds the best counts: the highest throughput, at a fixed rate the lowest p99."""
    if m.errors != kept.errors:
        return m.errors > kept.errors  # an error is never hidden by a better round
    if workload.paced_by is not None:
        return m.p99_ms < kept.p99_ms
    return m.requests_per_second > kept.requests_per_second


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("bench-dpp: wrk is missing (scripts/ensure-system-packages.sh installs it)")
    load = Load(args.connections, args.threads, args.duration, args.warmup, args.zipf, args.mutation_concurrency)
    args.workdir = args.workdir.resolve()
    # A directory per run, so that two runs at once (two people on one machine) do not share files.
    args.run_dir = args.workdir / "runs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    for old in sorted((args.workdir / "runs").glob("*"))[:-KEEP_RUNS]:
        shutil.rmtree(old, ignore_errors=True)
    trees: list[tuple[str, Path]] = []
    before = args.tree.resolve() if args.tree else (_clone(args.before_rev, args.workdir) if args.before_rev else None)
    if before is not None:
        trees.append(("before", before))
    trees.append(("after" if before is not None else "this", ROOT))
    backends = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    started = time.monotonic()
    load_before = os.getloadavg()
    all_results: dict[str, dict[str, dict[str, Measurement]]] = {}
    postgres: PostgresServer | None = None
    try:
        for db in backends:
            if db == "postgres" and postgres is None:
                postgres = PostgresServer().start()
            stacks = []
            for label, tree in trees:
                workdir = args.run_dir / db / label
                if db == "postgres":
                    assert postgres is not None
                    databases = {name: postgres.create_database(f"{label}_{name}") for name in SERVICES}
                else:
                    databases = {name: f"sqlite+aiosqlite:///{workdir / 'data' / (name + '.db')}" for name in SERVICES}
                profile = args.profile.resolve() / db / label if args.profile else None
                if profile is not None:
                    profile.mkdir(parents=True, exist_ok=True)
                probe = args.run_dir / db / label / "probe" if args.probe else None
                if probe is not None:
                    probe.mkdir(parents=True, exist_ok=True)
                stack = BenchStack(label, tree, databases, workdir, profile, probe, sharing=not args.no_sharing)
                stacks.append(stack)
            all_results[db] = run_backend(db, stacks, args, load, postgres if db == "postgres" else None)
    finally:
        if postgres is not None:
            postgres.stop()
        for data in args.run_dir.glob("*/*/data"):  # the SQLite files; the logs stay
            shutil.rmtree(data, ignore_errors=True)
    print(
        f"\nmake bench-dpp: {args.products:,} bulk products and passports; wrk {load.threads} thread(s), "
        f"{load.connections} connections, {load.duration:g} s per workload after {load.warmup:g} s warm-up, "
        f"best of {args.rounds} alternating round(s); qr-gateway@80%: {PACED_SHARE:.0%} of qr-gateway's peak, "
        f"fixed rate, latency from the scheduled instant; "
        f"{NO_SHARING_NOTE if args.no_sharing else ''}"
        f"mutation mix {load.mutation_concurrency} chains; {sys.platform} with {_cpus()} CPUs shared by "
        f"everything (a loaded machine: compare ratios from one run, not absolute numbers across runs; "
        f"load average {load_before[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end)"
    )
    for db, results in all_results.items():
        for label, tree in trees:
            print_table(f"{db}, {label} ({_describe(tree)})", results[label])
            print_breakdown(f"{db}, {label}", results[label])
        if before is not None:
            print_ratios(f"{db}: after / before", results["before"], results["after"])
    if all_results:
        print_markdown(all_results)
    if args.profile:
        print(
            f"\nprofiles: {args.profile.resolve()}/<db>/<stack>/<workload>/<process>.prof "
            f"(python -m pstats FILE, then: sort tottime, stats 30)"
        )
    print(f"\ntook {time.monotonic() - started:.0f} s; logs in {args.run_dir}")
    return exit_status(all_results)


def exit_status(results: dict[str, dict[str, dict[str, Measurement]]]) -> int:
    """Print every workload that had errors (db -> stack label -> workload); 1 when the tree measured had any.

    The ``--before`` tree's errors are its own (an old revision's bugs, e.g. 0e31274's
    AUTHENTICATION_UNAVAILABLE under the mutation mix): shown, not failing the run.
    """
    failed = [
        (db, label, w, m) for db, r in results.items() for label, ms in r.items() for w, m in ms.items() if m.errors
    ]
    for db, label, w, m in failed:
        print(f"bench-dpp: {db} {label} {w}: {m.errors} errors {m.note}")
    return 1 if any(label != "before" for _, label, _, _ in failed) else 0


NO_SHARING_NOTE = "no sharing between concurrent identical requests (GATEWAY_DEDUP_QUERIES=false); "


def _cpus() -> int:
    return os.cpu_count() or 0


if __name__ == "__main__":
    sys.exit(main())
