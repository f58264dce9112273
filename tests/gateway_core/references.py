"""Scenarios whose answers are checked against Apollo Gateway's, recorded in ``fixtures/<name>/reference.json``.

Each scenario is a fixture directory (subgraph SDL + supergraph), resolvers for the loopback
subgraphs and a list of operations. ``reference.json`` maps each operation to the response
Apollo Gateway 2.14.4 gave over the same subgraphs; ``test_reference_answers.py`` checks that
this gateway gives the same, key order included. To record them again (needs ``make bench``'s
bench/node_modules)::

    .venv/bin/python -m tests.gateway_core.references [scenario ...]
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .harness import FIXTURES, Scenario, SubgraphServer, start_scenario


@dataclass(frozen=True)
class ReferenceScenario:
    """A fixture directory, its subgraphs' resolvers, and the operations answered by the reference."""

    name: str
    resolvers: Mapping[str, Mapping[str, Any]]
    queries: tuple[str, ...]

    @property
    def reference_path(self) -> Path:
        return FIXTURES / self.name / "reference.json"

    def reference(self) -> dict[str, Any]:
        answers: dict[str, Any] = json.loads(self.reference_path.read_text())
        return answers

    def start(self, server: SubgraphServer) -> Scenario:
        return start_scenario(server, self.name, {k: dict(v) for k, v in self.resolvers.items()})


# -- compositekey: an entity re-entered by its composite key (see test_compositekey.py) ---------------

PRODUCTS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "p1": {"id": "p1", "pid": "x1", "name": "Chair", "price": 40, "category": {"id": "c1", "title": "Furniture"}},
        "p2": {"id": "p2", "pid": "x2", "name": "Lamp", "price": 25, "category": None},
        "p3": {"id": "p3", "pid": "x3", "name": "Desk", "price": 90, "category": {"id": "c1", "title": "Furniture"}},
    }
)
ARTICLE = MappingProxyType({"__typename": "Article", "id": "a1", "headline": "New chairs"})


def _product_a(p: Mapping[str, Any]) -> dict[str, Any]:
    return {"__typename": "Product", "id": p["id"], "name": p["name"], "category": p["category"]}


def _product_b(rep: dict[str, Any]) -> dict[str, Any] | None:
    p = PRODUCTS.get(rep["id"])
    if p is None or p["pid"] != rep["pid"]:  # the whole composite key must be right
        return None
    cat = p["category"]
    category = None if cat is None else {"id": cat["id"], "details": f"{cat['id']} details for {p['pid']}"}
    return {"id": p["id"], "pid": p["pid"], "category": category}


def _node(args: dict[str, Any]) -> dict[str, Any] | None:
    if args["id"] in PRODUCTS:
        return _product_a(PRODUCTS[args["id"]])
    return dict(ARTICLE) if args["id"] == ARTICLE["id"] else None


COMPOSITEKEY = ReferenceScenario(
    name="compositekey",
    resolvers={
        "a": {
            "fields": {
                "Query.products": lambda _s: [_product_a(p) for p in PRODUCTS.values()],
                "Query.search": lambda _s: [_product_a(PRODUCTS["p1"]), dict(ARTICLE), _product_a(PRODUCTS["p2"])],
                "Query.node": lambda _s, args: _node(args),
            },
            "entities": {"Product": lambda rep: _product_a(PRODUCTS[rep["id"]])},
        },
        "b": {"entities": {"Product": _product_b}},
        "c": {"entities": {"Product": lambda rep: {k: PRODUCTS[rep["id"]][k] for k in ("id", "pid", "price")}}},
    },
    queries=(
        "{ search { ... on Product { id name category { title details } } ... on Article { headline } } }",
        '{ node(id: "p1") { id ... on Product { category { details } } } }',
        '{ node(id: "a1") { id ... on Product { category { details } } } }',
        "{ search { ... on Node { id ... on Product { category { details } } } } }",
        "{ products { name price category { id details } } }",
    ),
)

# -- partialunion: union members only partly known to each subgraph ---------------------------------
# a serves feed: Item = Book | Movie; b serves picks: Item = Book | Song; c adds Movie/Song fields
# and the interface Playable, which neither root subgraph knows.

MEDIA: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "b1": {"__typename": "Book", "id": "b1", "title": "Dune", "pages": 412},
        "m1": {"__typename": "Movie", "id": "m1", "title": "Alien", "duration": 117},
        "s1": {"__typename": "Song", "id": "s1", "title": "Blue", "length": 210, "artist": "Joni", "duration": 4},
    }
)


def _pick(mid: str, *fields: str) -> dict[str, Any]:
    m = MEDIA[mid]
    return {"__typename": m["__typename"], **{f: m[f] for f in fields}}


PARTIALUNION = ReferenceScenario(
    name="partialunion",
    resolvers={
        "a": {
            "fields": {"Query.feed": lambda _s: [_pick(i, "id", "title") for i in ("b1", "m1", "b1")]},
            "entities": {
                "Book": lambda r: _pick(r["id"], "id", "title"),
                "Movie": lambda r: _pick(r["id"], "id", "title"),
            },
        },
        "b": {
            "fields": {
                "Query.picks": lambda _s: [_pick("s1", "id", "title", "length"), _pick("b1", "id", "title", "pages")]
            },
            "entities": {
                "Book": lambda r: _pick(r["id"], "id", "title", "pages"),
                "Song": lambda r: _pick(r["id"], "id", "title", "length"),
            },
        },
        "c": {
            "entities": {
                "Movie": lambda r: _pick(r["id"], "id", "duration"),
                "Song": lambda r: _pick(r["id"], "id", "artist", "duration"),
            },
        },
    },
    queries=(
        "{ feed { ... on Media { id title } ... on Song { length } ... on Book { pages } } }",
        "{ picks { __typename ... on Media { title } ... on Movie { duration } ... on Song { artist } } }",
        "{ feed { ... on Movie { duration } ... on Book { title pages } } }",
        "{ picks { ... on Book { id } ... on Song { id length artist } } }",
        "{ feed { ... on Playable { duration } ... on Media { title } } }",
        "{ picks { ... on Playable { id duration } ... on Book { pages } } }",
        "{ feed { __typename ... on Song { artist } ... on Playable { ... on Movie { title } } } }",
    ),
)

# -- providesiface: @provides through an interface field @external in every implementation ----------

OWNERS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "d1": {"__typename": "Dog", "id": "d1", "owner": {"name": "Ann", "age": 31}, "breed": "collie"},
        "c1": {"__typename": "Cat", "id": "c1", "owner": {"name": "Bo", "age": 40}, "lives": 9},
    }
)

PROVIDESIFACE = ReferenceScenario(
    name="providesiface",
    resolvers={
        "a": {
            "fields": {
                "Query.animals": lambda _s: [
                    {"__typename": a["__typename"], "id": a["id"], "owner": {"name": a["owner"]["name"]}}
                    for a in OWNERS.values()
                ]
            },
            "entities": {"Dog": lambda r: {"id": r["id"]}, "Cat": lambda r: {"id": r["id"]}},
        },
        "b": {
            "entities": {
                "Dog": lambda r: {k: OWNERS[r["id"]][k] for k in ("id", "owner", "breed")},
                "Cat": lambda r: {k: OWNERS[r["id"]][k] for k in ("id", "owner", "lives")},
            },
        },
    },
    queries=(
        "{ animals { owner { name } } }",
        "{ animals { id owner { name age } } }",
        "{ animals { ... on Dog { owner { name } breed } ... on Cat { lives } } }",
    ),
)

SCENARIOS: Mapping[str, ReferenceScenario] = MappingProxyType(
    {s.name: s for s in (COMPOSITEKEY, PARTIALUNION, PROVIDESIFACE)}
)


def write_reference(scenario: ReferenceScenario) -> None:
    """Ask Apollo Gateway for the answers to the scenario's operations and write ``reference.json``."""
    from .apollo import ApolloGateway

    server = SubgraphServer().start()
    try:
        sc = scenario.start(server)
        urls = {n: server.url(f"{scenario.name}/{n}") for n in sc.subgraphs}
        with ApolloGateway(sc.supergraph_sdl(), urls) as apollo:
            answers = {q: apollo.query(q) for q in scenario.queries}
    finally:
        server.stop()
    scenario.reference_path.write_text(json.dumps(answers, indent=2) + "\n")


if __name__ == "__main__":
    for name in sys.argv[1:] or sorted(SCENARIOS):
        write_reference(SCENARIOS[name])
        print(f"wrote {SCENARIOS[name].reference_path}")
