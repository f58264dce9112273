"""The tables ``make bench-dpp`` prints."""

from __future__ import annotations

from collections.abc import Mapping

from measure import Measurement

PROCESSES = ("gateway", "identity", "catalog", "templates", "passport", "postgres")
SHORT = {"gateway": "gw", "identity": "id", "catalog": "cat", "templates": "tpl", "passport": "pp", "postgres": "pg"}


def _cpu(m: Measurement, name: str) -> str:
    return f"{m.cpu_ms[name]:.2f}" if name in m.cpu_ms else "-"


def _sql(m: Measurement) -> str:
    total = sum(m.sql.values())
    parts = " ".join(f"{SHORT[k]}{v:.1f}" for k, v in m.sql.items() if v >= 0.05)
    return f"{total:.1f}" + (f" ({parts})" if parts and len([v for v in m.sql.values() if v >= 0.05]) > 1 else "")


def print_table(title: str, results: Mapping[str, Measurement]) -> None:
    """One stack's table: a row per workload."""
    processes = [p for p in PROCESSES if any(p in m.cpu_ms for m in results.values())]
    print(f"\n{title}")
    head = f"{'workload':<18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'err':>4} |"
    head += "".join(f" {p[:9]:>9}" for p in processes) + f" {'total':>7} | SQL/req"
    print(head)
    print(f"{'':<18} {'':>8} {'':>8} {'':>8} {'':>4} | CPU ms per request" + " " * 10 + "|")
    for name, m in results.items():
        row = f"{name:<18} {m.requests_per_second:>8.1f} {m.p50_ms:>8.1f} {m.p99_ms:>8.1f} {m.errors:>4} |"
        row += "".join(f" {_cpu(m, p):>9}" for p in processes) + f" {m.cpu_total:>7.2f} | {_sql(m)}"
        print(row)


def print_ratios(title: str, before: Mapping[str, Measurement], after: Mapping[str, Measurement]) -> None:
    """after/before per workload: throughput, latency and CPU per request (of the whole stack)."""
    print(f"\n{title}")
    print(
        f"{'workload':<18} {'req/s':>8} {'p50':>8} {'p99':>8} {'CPU/req':>8}   (req/s: higher is better; others lower)"
    )
    for name, a in after.items():
        b = before.get(name)
        if b is None:
            continue

        def ratio(x: float, y: float) -> str:
            return f"{x / y:.2f}x" if y else "-"

        print(
            f"{name:<18} {ratio(a.requests_per_second, b.requests_per_second):>8} {ratio(a.p50_ms, b.p50_ms):>8} "
            f"{ratio(a.p99_ms, b.p99_ms):>8} {ratio(a.cpu_total, b.cpu_total):>8}"
        )


def print_markdown(results: Mapping[str, Mapping[str, Mapping[str, Measurement]]]) -> None:
    """Every database and workload in one Markdown table (db -> stack label -> workload -> measurement).

    With two stacks (before, after): each side's requests/s, p99, CPU per request (every process
    together) and SQL per request, and the after/before throughput ratio.
    """
    labels = list(next(iter(results.values())))
    print()
    if len(labels) == 1:
        print("| db | workload | req/s | p50 ms | p99 ms | CPU ms/req (all processes) | SQL/req |")
        print("|---|---|---|---|---|---|---|")
        for db, stacks in results.items():
            for name, m in stacks[labels[0]].items():
                print(
                    f"| {db} | {name} | {m.requests_per_second:.1f} | {m.p50_ms:.1f} | {m.p99_ms:.1f} "
                    f"| {m.cpu_total:.2f} | {sum(m.sql.values()):.1f} |"
                )
        return
    print(
        "| db | workload | req/s before | req/s after | ratio | p99 ms before | p99 ms after "
        "| CPU ms/req before | CPU ms/req after | SQL/req before | SQL/req after |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for db, stacks in results.items():
        before, after = stacks[labels[0]], stacks[labels[-1]]
        for name, a in after.items():
            b = before.get(name)
            if b is None:
                continue
            ratio = f"{a.requests_per_second / b.requests_per_second:.2f}x" if b.requests_per_second else "-"
            print(
                f"| {db} | {name} | {b.requests_per_second:.1f} | {a.requests_per_second:.1f} | {ratio} "
                f"| {b.p99_ms:.1f} | {a.p99_ms:.1f} | {b.cpu_total:.2f} | {a.cpu_total:.2f} "
                f"| {sum(b.sql.values()):.1f} | {sum(a.sql.values()):.1f} |"
            )


def print_breakdown(title: str, results: Mapping[str, Measurement]) -> None:
    """Where the latency goes, per workload and process (``--probe``; the wait column always).

    wait: ms per request a process was runnable but had no CPU (``/proc/<pid>/task/*/schedstat``);
    server p50/p99: the process's own time per HTTP request (probe.py); GC: collections, their
    total pause, the CPU they used (the rest of a pause is waiting for a CPU), the longest pause;
    lag p99/max: how late the event loop woke a 10 ms timer (in a process that does nothing, like
    templates on the QR path, that is the operating system's scheduling delay alone).
    At a fixed rate, the client line: its p90, the delay from the scheduled instant to the write
    (this client's own share), its CPU and CPU wait per request, and the p99 of each second of the schedule, in order.
    """
    rows = [(name, m) for name, m in results.items() if m.wait_ms or m.probes or m.client]
    if not rows:
        return
    print(f"\n{title}: latency breakdown (ms)")
    print(
        f"{'workload':<18} {'process':<9} {'CPU/req':>8} {'wait/req':>8} {'srv p50':>8} {'srv p99':>8} "
        f"{'srv max':>8} {'GC n':>6} {'GC ms':>7} {'GC cpu':>7} {'GC max':>7} {'lag p99':>8} {'lag max':>8}"
    )
    for name, m in rows:
        for process in PROCESSES:
            if process not in m.cpu_ms:
                continue
            probe = m.probes.get(process, {})
            server, lag, gcs = probe.get("server_ms", {}), probe.get("lag_ms", {}), probe.get("gc", {})
            count = sum(g["count"] for g in gcs.values())
            total = sum(g["total_ms"] for g in gcs.values())
            worst = max((g["max_ms"] for g in gcs.values()), default=0.0)
            cpu = sum(g.get("cpu_ms", 0.0) for g in gcs.values())

            def cell(value: float | None, width: int = 8) -> str:
                return f"{value:>{width}.2f}" if value is not None else f"{'-':>{width}}"

            print(
                f"{name:<18} {process:<9} {cell(m.cpu_ms.get(process))} {cell(m.wait_ms.get(process))} "
                f"{cell(server.get('p50'))} {cell(server.get('p99'))} {cell(server.get('max'))} "
                f"{count if probe else '-':>6} {cell(total if probe else None, 7)} {cell(cpu if probe else None, 7)} "
                f"{cell(worst if probe else None, 7)} "
                f"{cell(lag.get('p99'))} {cell(lag.get('max'))}"
            )
        if m.machine:
            print(
                f"{name:<18} {'machine':<9} {m.machine['busy_cpus']:.2f} CPUs busy (everything on the machine), "
                f"{m.machine['stack_cpus']:.2f} of them this stack's processes, over {m.machine['seconds']:.1f} s"
            )
        c = m.client
        if c:
            by_second = c.get("p99_by_second_ms", [])
            print(
                f"{name:<18} {'client':<9} p50 {c.get('p50_ms', m.p50_ms):.1f} p90 {c.get('p90_ms', 0):.1f} "
                f"p99 {m.p99_ms:.1f} max {c.get('max_ms', 0):.1f}; send lag p50 {c.get('send_lag_p50_ms', 0):.2f} "
                f"p99 {c.get('send_lag_p99_ms', 0):.2f} max {c.get('send_lag_max_ms', 0):.1f}; "
                f"own CPU {c.get('client_cpu_ms_per_request', 0):.2f}/req, "
                f"wait {c.get('client_wait_ms_per_request', 0):.2f}/req; "
                f"p99 per second of the schedule {by_second}"
            )
            floor = c.get("floor")
            if floor:
                print(
                    f"{name:<18} {'floor':<9} the same schedule against a do-nothing server (bench/dpp/floor.py) "
                    f"right after: p50 {floor['p50_ms']:.1f} p90 {floor.get('p90_ms', 0):.1f} "
                    f"p99 {floor['p99_ms']:.1f} max {floor.get('max_ms', 0):.1f}; "
                    f"send lag p99 {floor.get('send_lag_p99_ms', 0):.2f}"
                )
