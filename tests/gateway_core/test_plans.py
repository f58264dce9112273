"""Plan snapshots: printed plans compared to checked-in text (``UPDATE_PLANS=1`` rewrites them)."""

from __future__ import annotations

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
    "nodeid": ("nodeid", '{ p: node(id: "p1") { ... on Person { id handle } } '
                         'm: node(id: "m1") { ... on Message { id text } } }'),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_plan_snapshot(name: str) -> None:
    scenario, query = CASES[name]
    gw = Gateway.from_supergraph_sdl((FIXTURES / scenario / "supergraph.graphql").read_text())
    text = gw.plan_text(query) + "\n"
    path = PLANS / f"{name}.txt"
    if os.environ.get("UPDATE_PLANS") or not path.exists():
        path.write_text(text)
    assert text == path.read_text()


def test_plan_is_deterministic() -> None:
    sdl = (FIXTURES / "products" / "supergraph.graphql").read_text()
    q = "{ topProducts { name shippingEstimate reviews { author { name } } } me { name } }"
    texts = {Gateway.from_supergraph_sdl(sdl).plan_text(q) for _ in range(3)}
    assert len(texts) == 1


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
