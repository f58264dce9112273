"""Plan snapshots: printed plans compared to checked-in text.

``UPDATE_PLANS=1 .venv/bin/pytest tests/gateway_core/test_plans.py`` writes them; a missing
snapshot is a failure (a new case must be looked at once, not compared with itself).
``python -m tests.gateway_core.test_plans`` prints every case's plan as JSON (the
cross-process determinism test runs it under several ``PYTHONHASHSEED`` values).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from graphql import parse, validate

from gateway.plan_command import run_plan
from gateway.planner import FetchNode, FlattenNode, ParallelNode, SequenceNode
from gateway.runtime import Gateway

from .harness import FIXTURES, executable_schema

PLANS = FIXTURES / "plans"

CASES = {
    "products-requires": ("products", "{ topProducts { name shippingEstimate inStock } }"),
    "products-nested": ("products", "{ topProducts { reviews { body author { name } } } }"),
    "products-provides": ("products", "{ topProducts { reviews { author { username } } } }"),
    "products-two-roots": ("products", "{ me { name reviews { body } } topProducts { upc } }"),
    "abstract-explode": ("abstract", "{ media { title ... on Book { pages } ... on Movie { duration } } }"),
    "abstract-local": ("abstract", "{ search { ... on Book { title } } }"),
    "multihop": ("multihop", "{ bookContainers { book { upc author { name } } } }"),
    "mutations": ("mutations",
                  'mutation { a: add(num: 1, requestId: "x") b: multiply(by: 2, requestId: "x") '
                  'c: addProduct(name: "n", price: 1) { isExpensive } }'),
    "ifaceobject-concrete": ("ifaceobject", "{ accounts { id score } }"),
    "ifaceobject-root": ("ifaceobject", "{ anyAccount { score ... on Admin { isMain } } }"),
    "shareable": ("shareable", "{ product { name price } }"),
    "childtype-alias": ("childtype", "{ accounts { ... on User { id name similar { ... on User { id } "
                                     "... on Admin { id } } } ... on Admin { id name } } }"),
    "reqargs-collision": ("reqargs", "{ feed { author { id } comments(limit: 1) { id } } }"),
    "reqargs-nested": ("reqargs", "{ feed { comments(limit: 3) { isSpam } } }"),
    "sharedroot": ("sharedroot", "{ product { id name { brand } category price } }"),
    "parentcall": ("parentcall", '{ productFromCatalog(id: "1") { id name category { id name details } } }'),
    "iorequires": ("iorequires", "{ anotherUsers { ... on User { age id name username } id name } }"),
    "context": ("context", "{ ts { u { field name } } }"),
    "unionpath": ("unionpath", "{ feed { ... on TextPost { author { name } } "
                               "... on ImagePost { author { avatar } } } }"),
    "providesroot": ("providesroot", "{ shelf { ... on Novel { id title } ... on Film { id } } }"),
    "skipfetch": ("skipfetch", "query ($full: Boolean!) { item { id detail @include(if: $full) "
                             "... @skip(if: $full) { owner { name } } } }"),
    "diamond": ("diamond", "{ order { cost } user { name manager { title } } }"),
    "compositekey-union": ("compositekey", "{ search { ... on Product { id name category { title details } } "
                                           "... on Article { headline } } }"),
    "compositekey-interface": ("compositekey", "{ search { ... on Node { id ... on Product { category { details } } "
                                               "} } }"),
    "partialunion-playable": ("partialunion", "{ feed { ... on Playable { duration } ... on Media { title } } }"),
    "providesiface": ("providesiface", "{ animals { id owner { name age } } }"),
    "nodeid": ("nodeid", '{ p: node(id: "p1") { ... on Person { id handle } } '
                         'm: node(id: "m1") { ... on Message { id text } } }'),
}


UPDATE_COMMAND = "UPDATE_PLANS=1 .venv/bin/pytest -q tests/gateway_core/test_plans.py -k test_plan_snapshot"


def case_plan(name: str) -> str:
    """The printed plan of snapshot case ``name`` (with the final newline the files have)."""
    scenario, query = CASES[name]
    gw = Gateway.from_supergraph_sdl((FIXTURES / scenario / "supergraph.graphql").read_text())
    return gw.plan_text(query) + "\n"


def check_snapshot(path: Path, text: str, *, update: bool) -> None:
    """Compare ``text`` with the snapshot at ``path``; write it only when ``update`` is asked."""
    if update:
        path.write_text(text)
    if not path.exists():
        pytest.fail(f"no plan snapshot {path.name}; look at the plan, then write it with: {UPDATE_COMMAND}",
                    pytrace=False)
    assert text == path.read_text()


@pytest.mark.parametrize("name", sorted(CASES))
def test_plan_snapshot(name: str) -> None:
    check_snapshot(PLANS / f"{name}.txt", case_plan(name), update=bool(os.environ.get("UPDATE_PLANS")))


def test_missing_snapshot_fails_with_the_command_that_writes_it(tmp_path: Path) -> None:
    missing = tmp_path / "new-case.txt"
    with pytest.raises(pytest.fail.Exception) as failed:
        check_snapshot(missing, "QueryPlan {}\n", update=False)
    assert UPDATE_COMMAND in str(failed.value)
    assert not missing.exists()
    check_snapshot(missing, "QueryPlan {}\n", update=True)
    assert missing.read_text() == "QueryPlan {}\n"


def test_every_case_has_a_snapshot_and_every_snapshot_a_case() -> None:
    assert sorted(p.stem for p in PLANS.glob("*.txt")) == sorted(CASES)


def test_plan_is_deterministic() -> None:
    sdl = (FIXTURES / "products" / "supergraph.graphql").read_text()
    q = "{ topProducts { name shippingEstimate reviews { author { name } } } me { name } }"
    texts = {Gateway.from_supergraph_sdl(sdl).plan_text(q) for _ in range(3)}
    assert len(texts) == 1


def _plans_in_process(hash_seed: str) -> dict[str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.gateway_core.test_plans"],
        capture_output=True, text=True, check=False, cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
    )
    assert proc.returncode == 0, proc.stderr
    plans: dict[str, str] = json.loads(proc.stdout)
    return plans


def test_plans_are_the_same_across_processes_and_hash_seeds() -> None:
    """Sets and dicts of strings iterate in a per-process order: plans must not depend on it."""
    seeds = ["0", "1", "2", "4242", "random"]
    runs = {seed: _plans_in_process(seed) for seed in seeds}
    assert sorted(runs["0"]) == sorted(CASES)
    for seed in seeds[1:]:
        differing = sorted(n for n in CASES if runs[seed][n] != runs["0"][n])
        assert not differing, f"plans differ between PYTHONHASHSEED=0 and {seed}: {differing}"
    snapshots = {n: (PLANS / f"{n}.txt").read_text() for n in CASES if (PLANS / f"{n}.txt").exists()}
    assert {n: runs["0"][n] for n in snapshots} == snapshots


def test_plan_command_prints_the_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    query = tmp_path / "q.graphql"
    query.write_text("query Q($first: Int) { topProducts(first: $first) { inStock } }")
    code = run_plan(str(FIXTURES / "products" / "supergraph.graphql"), str(query), '{"first": 1}', "Q")
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("QueryPlan {")
    assert 'Fetch(service: "inventory")' in out


def test_plan_command_rejects_invalid_operations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    query = tmp_path / "q.graphql"
    query.write_text("{ nope }")
    code = run_plan(str(FIXTURES / "products" / "supergraph.graphql"), str(query), None, None)
    assert code == 1
    assert "Cannot query field 'nope'" in capsys.readouterr().err


def test_cli_dispatches_to_plan(tmp_path: Path) -> None:
    query = tmp_path / "q.graphql"
    query.write_text("{ me { name } }")
    proc = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "plan", "--supergraph",
         str(FIXTURES / "products" / "supergraph.graphql"), str(query)],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert 'Fetch(service: "accounts")' in proc.stdout


def _fetches(node: object) -> list[FetchNode]:
    if isinstance(node, FetchNode):
        return [node]
    if isinstance(node, FlattenNode):
        return [node.node]
    if isinstance(node, SequenceNode | ParallelNode):
        return [f for child in node.nodes for f in _fetches(child)]
    return []


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_fetch_is_valid_against_its_subgraph(name: str) -> None:
    """The operations sent to subgraphs pass the subgraphs' own validation."""
    scenario, query = CASES[name]
    gw = Gateway.from_supergraph_sdl((FIXTURES / scenario / "supergraph.graphql").read_text())
    prepared = gw.prepare(query, None)
    assert not prepared.errors
    for fetch in _fetches(prepared.plan):
        sdl = (FIXTURES / scenario / f"{fetch.subgraph}.graphql").read_text()
        schema = executable_schema(sdl, {}, {})
        errors = validate(schema, parse(fetch.operation))
        assert not errors, (fetch.subgraph, fetch.operation, errors)


if __name__ == "__main__":
    print(json.dumps({name: case_plan(name) for name in sorted(CASES)}))
