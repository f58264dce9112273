"""@defer plan snapshots: ``Defer { Primary {...}, [Deferred(...) {...}] }`` compared to checked-in text.

``UPDATE_PLANS=1 .venv/bin/pytest -q tests/defer/test_defer_plans.py`` writes them; a missing
snapshot is a failure. The primary must never fetch what a deferred block fetches.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.plan_command import run_plan
from gateway.runtime import Gateway
from tests.gateway_core.harness import FIXTURES

ROOT = Path(__file__).resolve().parents[2]
PLANS = Path(__file__).parent / "plans"
DPP = ROOT / "schema" / "supergraph.graphql"
UPDATE_COMMAND = "UPDATE_PLANS=1 .venv/bin/pytest -q tests/defer/test_defer_plans.py"

# name -> (supergraph file, query, variables)
CASES: dict[str, tuple[Path, str, dict[str, object]]] = {
    # an entity in a list: one _entities fetch per subgraph, after the primary brought the keys
    "dpp-list": (DPP, '{ categories { id name ... @defer(label: "templates") { templates { name } } } }', {}),
    # at the root: an operation of its own, depending on nothing
    "dpp-root": (DPP, '{ categories { name } ... @defer(label: "later") { products(first: 2) { totalCount } } }',
                 {}),
    # a value type (the connection) below the root: re-asked from the root
    "dpp-value-type": (DPP, "{ products(first: 2) { totalCount ... @defer { edges { node { name } } } } }", {}),
    # nested: the inner block depends on the outer one
    "dpp-nested": (DPP, '{ categories { id ... @defer(label: "outer") { name '
                        '... @defer(label: "inner") { templates { name version } } } } }', {}),
    # on a named fragment's spread (the same fragment spread again without @defer stays in the primary)
    "dpp-named-fragment": (DPP, 'query { categories { id ...T @defer(label: "t") } products(first: 1) { edges { '
                                "node { category { ...T } } } } } fragment T on Category { templates { name } }", {}),
    # @defer(if: $v) with $v false: an inline fragment, the ordinary plan
    "dpp-if-false": (DPP, "query($v: Boolean!) { categories { id ... @defer(if: $v) { templates { name } } } }",
                     {"v": False}),
    "dpp-if-true": (DPP, "query($v: Boolean!) { categories { id ... @defer(if: $v) { templates { name } } } }",
                    {"v": True}),
    # @include on the deferred fragment: the deferred fetch is conditioned like any other
    "dpp-include": (DPP, "query($i: Boolean!) { categories { id ... @defer @include(if: $i) { templates { name } } } }",
                    {"i": False}),
    # re-asked from the root below an @include: the deferred fetch keeps the condition
    "dpp-include-chain": (DPP, "query($x: Boolean!) { ... @include(if: $x) { products(first: 2) { totalCount "
                               "... @defer { edges { node { name } } } } } }", {"x": False}),
    # @requires below a deferred fragment: the deferred block gathers the required fields itself
    "products-requires": (FIXTURES / "products" / "supergraph.graphql",
                          "{ topProducts { name ... @defer { shippingEstimate inStock } } }", {}),
    # a mutation: the deferred part is a query on the entity the mutation returned (the mutation
    # is never sent twice); the entry fetch that would only repeat the keys is not sent
    "mutation-requires": (FIXTURES / "mutations" / "supergraph.graphql",
                          'mutation { c: addProduct(name: "n", price: 1) { name ... @defer { isExpensive } } }', {}),
    # fetches on the deferred objects that read only their keys start together; deeper ones wait
    "products-parallel": (FIXTURES / "products" / "supergraph.graphql",
                          "{ topProducts { name ... @defer { inStock reviews { body author { name } } } } }", {}),
    # on one member of an abstract type: items only for that type's objects
    "abstract-member": (FIXTURES / "abstract" / "supergraph.graphql",
                        '{ media { title ... on Book @defer(label: "book") { pages } } }', {}),
}


def case_plan(name: str) -> str:
    supergraph, query, variables = CASES[name]
    gw = Gateway.from_supergraph_sdl(supergraph.read_text())
    return gw.deferred_plan_text(query, variables) + "\n"


@pytest.mark.parametrize("name", sorted(CASES))
def test_defer_plan_snapshot(name: str) -> None:
    path = PLANS / f"{name}.txt"
    text = case_plan(name)
    if os.environ.get("UPDATE_PLANS"):
        path.write_text(text)
    if not path.exists():
        pytest.fail(f"no plan snapshot {path.name}; look at the plan, then write it with: {UPDATE_COMMAND}",
                    pytrace=False)
    assert text == path.read_text()


def test_every_case_has_a_snapshot_and_every_snapshot_a_case() -> None:
    assert sorted(p.stem for p in PLANS.glob("*.txt")) == sorted(CASES)


def test_the_primary_fetches_nothing_deferred() -> None:
    text = case_plan("dpp-list")
    primary = text.split("Primary {", 1)[1].split("Deferred(", 1)[0]
    assert 'service: "templates"' not in primary and "templates" not in primary
    assert "__typename" in primary and "id" in primary  # the keys the deferred fetch starts from


def test_defer_if_false_is_the_ordinary_plan() -> None:
    gw = Gateway.from_supergraph_sdl(DPP.read_text())
    query = CASES["dpp-if-false"][1]
    assert "Defer {" not in case_plan("dpp-if-false")
    assert case_plan("dpp-if-false") == gw.plan_text(query) + "\n"


def test_deferred_plans_are_deterministic() -> None:
    assert len({case_plan("dpp-nested") for _ in range(3)}) == 1


def test_the_plan_command_prints_the_defer_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    query = tmp_path / "q.graphql"
    query.write_text(CASES["dpp-if-true"][1])
    assert run_plan(str(DPP), str(query), '{"v": true}', None) == 0
    assert capsys.readouterr().out == (PLANS / "dpp-if-true.txt").read_text()
    assert run_plan(str(DPP), str(query), '{"v": false}', None) == 0
    assert capsys.readouterr().out == (PLANS / "dpp-if-false.txt").read_text()
