"""Behaviours found by running a federation conformance suite locally, one scenario per fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .harness import Scenario, SubgraphServer, run, start_scenario

# -- custom executable directive brought in by @composeDirective ---------------------------------


@pytest.fixture(scope="module")
def customdirective(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    yield start_scenario(subgraph_server, "customdirective", {
        "a": {"fields": {"Query.alpha": lambda _s: "alpha"}},
        "b": {"fields": {"Query.beta": lambda _s: "beta"}},
    })


def test_directive_brought_in_by_a_link_is_not_part_of_the_api_schema(customdirective: Scenario) -> None:
    # As Apollo's reference derives the API schema: every element a @link brings in leaves it,
    # a directive composed with @composeDirective included (the reference's own answer is the
    # composition corpus case executable-directives). The gateway once kept this one.
    schema = customdirective.gateway().api_schema
    assert schema.get_directive("trace") is None


async def test_query_using_the_linked_directive_is_refused_before_any_fetch(customdirective: Scenario) -> None:
    customdirective.reset()
    body = await run(customdirective.gateway(), "{ alpha @trace beta @trace(level: FULL) }")
    assert "data" not in body
    assert {e["extensions"]["code"] for e in body["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}
    assert "Unknown directive '@trace'" in body["errors"][0]["message"]
    assert customdirective.subgraphs["a"].requests == [] and customdirective.subgraphs["b"].requests == []


# -- entity fetches below a union member only see that member's objects -------------------------

POSTS = {
    "t1": {"__typename": "TextPost", "id": "t1", "author": {"id": "ann"}},
    "i1": {"__typename": "ImagePost", "id": "i1", "author": {"id": "bob"}},
}
PEOPLE = {"ann": {"name": "Ann", "avatar": "ann.png"}, "bob": {"name": "Bob", "avatar": "bob.png"}}


def _person(field: str) -> object:
    return lambda rep: {"id": rep["id"], field: PEOPLE[rep["id"]][field]}


@pytest.fixture(scope="module")
def unionpath(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    yield start_scenario(subgraph_server, "unionpath", {
        "posts": {
            "fields": {"Query.latest": lambda _s: POSTS["t1"], "Query.feed": lambda _s: list(POSTS.values())},
            "entities": {"Person": lambda rep: {"id": rep["id"]}},
        },
        "names": {"entities": {"Person": _person("name")}},
        "avatars": {"entities": {"Person": _person("avatar")}},
    })


UNION_QUERY = "{ %s { ... on TextPost { author { name } } ... on ImagePost { author { avatar } } } }"


async def test_member_fields_are_fetched_only_for_that_member(unionpath: Scenario) -> None:
    unionpath.reset()
    body = await run(unionpath.gateway(), UNION_QUERY % "latest")
    assert body == {"data": {"latest": {"author": {"name": "Ann"}}}}
    # the only post is a TextPost: nothing is asked for an ImagePost's author
    assert unionpath.subgraphs["avatars"].requests == []


async def test_each_member_gets_its_own_children_in_a_list(unionpath: Scenario) -> None:
    unionpath.reset()
    body = await run(unionpath.gateway(), UNION_QUERY % "feed")
    assert body == {"data": {"feed": [{"author": {"name": "Ann"}}, {"author": {"avatar": "bob.png"}}]}}
    (names,) = unionpath.subgraphs["names"].requests
    (avatars,) = unionpath.subgraphs["avatars"].requests
    assert names["variables"]["representations"] == [{"__typename": "Person", "id": "ann"}]
    assert avatars["variables"]["representations"] == [{"__typename": "Person", "id": "bob"}]


# -- a shared root field is taken from the subgraph whose @provides covers the selection ---------

SHELF = [{"__typename": "Novel", "id": "n1", "title": "Dune"}, {"__typename": "Film", "id": "f1", "title": "Alien"}]


def _refuse(*_args: object) -> object:
    raise ValueError("this subgraph should not be asked")


@pytest.fixture(scope="module")
def providesroot(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    yield start_scenario(subgraph_server, "providesroot", {
        "catalog": {"fields": {"Query.shelf": _refuse}},
        "shelf": {"fields": {"Query.shelf": lambda _s: [
            dict(SHELF[0]), {"__typename": "Film", "id": "f1"},
        ]}},
        "titles": {"entities": {
            "Novel": _refuse,
            "Film": lambda rep: {"id": rep["id"], "title": SHELF[1]["title"]},
        }},
    })


async def test_root_subgraph_with_provides_answers_alone(providesroot: Scenario) -> None:
    providesroot.reset()
    body = await run(providesroot.gateway(), "{ shelf { ... on Novel { id title } ... on Film { id } } }")
    assert body == {"data": {"shelf": [{"id": "n1", "title": "Dune"}, {"id": "f1"}]}}
    assert len(providesroot.subgraphs["shelf"].requests) == 1
    assert providesroot.subgraphs["catalog"].requests == []
    assert providesroot.subgraphs["titles"].requests == []


async def test_fields_outside_the_provides_still_come_from_their_owner(providesroot: Scenario) -> None:
    providesroot.reset()
    body = await run(providesroot.gateway(), "{ shelf { ... on Novel { title } ... on Film { title } } }")
    assert body == {"data": {"shelf": [{"title": "Dune"}, {"title": "Alien"}]}}
    (titles,) = providesroot.subgraphs["titles"].requests
    assert titles["variables"]["representations"] == [{"__typename": "Film", "id": "f1"}]


# -- @requires whose field set has inline fragments under a field --------------------------------

BOXES = [
    {"id": "b1", "shape": {"__typename": "Square", "sides": 4, "edge": 2.0}},
    {"id": "b2", "shape": {"__typename": "Circle", "sides": 0, "radius": 1.0}},
]


def _area(box: dict[str, object]) -> float:
    shape = box["shape"]
    assert isinstance(shape, dict)
    if shape["__typename"] == "Square":
        return float(shape["edge"]) ** 2
    return round(3.14 * float(shape["radius"]) ** 2, 2)


@pytest.fixture(scope="module")
def reqfragment(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    yield start_scenario(subgraph_server, "reqfragment", {
        "shapes": {
            "fields": {"Query.boxes": lambda _s: [dict(b) for b in BOXES]},
            "entities": {"Box": lambda rep: next(dict(b) for b in BOXES if b["id"] == rep["id"])},
        },
        "area": {"fields": {"Box.area": _area}, "entities": {"Box": lambda rep: dict(rep)}},
    })


async def test_requires_with_fragments_below_a_field(reqfragment: Scenario) -> None:
    reqfragment.reset()
    body = await run(reqfragment.gateway(), "{ boxes { id area } }")
    assert body == {"data": {"boxes": [{"id": "b1", "area": 4.0}, {"id": "b2", "area": 3.14}]}}
    (area,) = reqfragment.subgraphs["area"].requests
    # each representation carries only its own member's fields (and the shape's __typename)
    assert area["variables"]["representations"] == [
        {"__typename": "Box", "id": "b1", "shape": {"__typename": "Square", "sides": 4, "edge": 2.0}},
        {"__typename": "Box", "id": "b2", "shape": {"__typename": "Circle", "sides": 0, "radius": 1.0}},
    ]


# -- entity fetches that only serve skipped selections are not sent ------------------------------


@pytest.fixture(scope="module")
def skipfetch(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    yield start_scenario(subgraph_server, "skipfetch", {
        "items": {"fields": {"Query.item": lambda _s: {"id": "i1"}}},
        "details": {"entities": {"Item": lambda rep: {"id": rep["id"], "detail": "fragile", "owner": {"id": "o1"}}}},
        "owners": {"entities": {"Owner": lambda rep: {"id": rep["id"], "name": "Olga"}}},
    })


SKIP_QUERY = ("query ($full: Boolean!) { item { id detail @include(if: $full) "
              "... @skip(if: $full) { owner { name } } } }")


async def test_included_field_is_fetched_and_skipped_branch_is_not(skipfetch: Scenario) -> None:
    skipfetch.reset()
    body = await run(skipfetch.gateway(), SKIP_QUERY, {"full": True})
    assert body == {"data": {"item": {"id": "i1", "detail": "fragile"}}}
    assert len(skipfetch.subgraphs["details"].requests) == 1
    assert skipfetch.subgraphs["owners"].requests == []


async def test_skip_branch_fetched_when_its_condition_holds(skipfetch: Scenario) -> None:
    skipfetch.reset()
    body = await run(skipfetch.gateway(), SKIP_QUERY, {"full": False})
    assert body == {"data": {"item": {"id": "i1", "owner": {"name": "Olga"}}}}
    assert len(skipfetch.subgraphs["details"].requests) == 1
    assert len(skipfetch.subgraphs["owners"].requests) == 1


async def test_nothing_downstream_is_asked_when_everything_is_skipped(skipfetch: Scenario) -> None:
    skipfetch.reset()
    body = await run(skipfetch.gateway(), "query ($d: Boolean = false) { item { id detail @include(if: $d) } }")
    assert body == {"data": {"item": {"id": "i1"}}}
    assert skipfetch.subgraphs["details"].requests == []


# -- a fetch with two inputs does not hold back an unrelated chain -------------------------------


@pytest.fixture(scope="module")
def diamond(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    yield start_scenario(subgraph_server, "diamond", {
        "base": {"fields": {"Query.order": lambda _s: {"id": "o1"}, "Query.user": lambda _s: {"id": "u1"}}},
        "weights": {"entities": {"Order": lambda rep: {"id": rep["id"], "weight": 3}}},
        "prices": {"entities": {"Order": lambda rep: {"id": rep["id"], "price": 7}}},
        "shipping": {
            "fields": {"Order.cost": lambda o: o["weight"] * o["price"]},
            "entities": {"Order": lambda rep: dict(rep)},
        },
        "people": {"entities": {"User": lambda rep: {"id": rep["id"], "name": "Uma", "manager": {"id": "u2"}}}},
        "titles": {"entities": {"User": lambda rep: {"id": rep["id"], "title": "Boss"}}},
    })


def test_independent_chains_are_parallel_branches() -> None:
    from gateway.planner import ParallelNode, SequenceNode
    from gateway.runtime import Gateway

    from .harness import FIXTURES

    gw = Gateway.from_supergraph_sdl((FIXTURES / "diamond" / "supergraph.graphql").read_text())
    plan = gw.prepare("{ order { cost } user { name manager { title } } }", None).plan
    # the root fetch, then two branches side by side: the order diamond and the user chain
    assert isinstance(plan, SequenceNode) and len(plan.nodes) == 2
    branches = plan.nodes[1]
    assert isinstance(branches, ParallelNode) and len(branches.nodes) == 2
    assert all(isinstance(b, SequenceNode) for b in branches.nodes)


async def test_diamond_and_chain_answer(diamond: Scenario) -> None:
    diamond.reset()
    body = await run(diamond.gateway(), "{ order { cost } user { name manager { title } } }")
    assert body == {"data": {"order": {"cost": 21}, "user": {"name": "Uma", "manager": {"title": "Boss"}}}}
    (shipping,) = diamond.subgraphs["shipping"].requests
    assert shipping["variables"]["representations"] == [{"__typename": "Order", "id": "o1", "weight": 3, "price": 7}]


# -- @inaccessible enum values are hidden: null without an error; unknown values are errors ------

PEOPLE_KINDS = [
    {"id": "p1", "kind": "STAFF", "mood": "HAPPY"},
    {"id": "p2", "kind": "CONTRACTOR", "mood": "GRUMPY"},  # GRUMPY: a subgraph bug, unknown everywhere
]


@pytest.fixture(scope="module")
def hiddenenum(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    yield start_scenario(subgraph_server, "hiddenenum", {
        "people": {"fields": {"Query.people": lambda _s: [dict(p) for p in PEOPLE_KINDS]}},
        "names": {"entities": {"Person": lambda rep: {"id": rep["id"], "name": rep["id"].upper()}}},
    })


async def test_inaccessible_enum_value_becomes_null_without_naming_it(hiddenenum: Scenario) -> None:
    body = await run(hiddenenum.gateway(), "{ people { id kind name } }")
    assert body == {
        "data": {
            "people": [{"id": "p1", "kind": "STAFF", "name": "P1"}, {"id": "p2", "kind": None, "name": "P2"}]
        }
    }


async def test_enum_value_unknown_to_the_supergraph_is_an_error(hiddenenum: Scenario) -> None:
    body = await run(hiddenenum.gateway(), "{ people { id mood } }")
    assert body["data"] == {"people": [{"id": "p1", "mood": "HAPPY"}, {"id": "p2", "mood": None}]}
    assert [(e["message"], e["path"]) for e in body["errors"]] == [
        ("Enum 'Mood' cannot represent value: 'GRUMPY'", ["people", 1, "mood"])
    ]
