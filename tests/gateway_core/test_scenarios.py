"""Abstract types, multi-hop keys with nulls, mutations in order, @interfaceObject, @shareable roots."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .harness import Scenario, SubgraphServer, run, start_scenario

# -- abstract types -----------------------------------------------------------------------------

MEDIA = [
    {"__typename": "Book", "id": "b1", "title": "Dune", "pages": 412},
    {"__typename": "Movie", "id": "m1", "title": "Alien", "duration": 117},
    {"__typename": "Song", "id": "s1", "title": "Blue"},
    {"__typename": "Book", "id": "b1", "title": "Dune", "pages": 412},
]
BY_ID = {m["id"]: m for m in MEDIA}


@pytest.fixture(scope="module")
def abstract(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    yield start_scenario(subgraph_server, "abstract", {
        "a": {
            "fields": {
                "Query.media": lambda _s: [{k: v for k, v in m.items() if k not in ("pages", "duration")}
                                           for m in MEDIA],
                "Query.search": lambda _s: [{"__typename": m["__typename"], "id": m["id"], "title": m["title"]}
                                            for m in MEDIA if m["__typename"] != "Song"],
            },
            "entities": {"Book": lambda r: BY_ID.get(r["id"]), "Movie": lambda r: BY_ID.get(r["id"])},
        },
        "b": {
            "entities": {
                "Book": lambda r: {"id": r["id"], "pages": BY_ID[r["id"]]["pages"]},
                "Movie": lambda r: {"id": r["id"], "duration": BY_ID[r["id"]]["duration"]},
            },
        },
    })


async def test_interface_with_fields_from_another_subgraph(abstract: Scenario) -> None:
    abstract.reset()
    gw = abstract.gateway()
    body = await run(gw, """{ media { __typename title ... on Book { pages } ... on Movie { duration } } }""")
    assert body == {"data": {"media": [
        {"__typename": "Book", "title": "Dune", "pages": 412},
        {"__typename": "Movie", "title": "Alien", "duration": 117},
        {"__typename": "Song", "title": "Blue"},
        {"__typename": "Book", "title": "Dune", "pages": 412},
    ]}}
    reqs = abstract.subgraphs["b"].requests
    assert len(reqs) == 1
    assert reqs[0]["variables"]["representations"] == [
        {"__typename": "Book", "id": "b1"}, {"__typename": "Movie", "id": "m1"},
    ]


async def test_union_and_fragment_on_interface(abstract: Scenario) -> None:
    gw = abstract.gateway()
    body = await run(gw, """
      { search { ... on Media { id } ... on Book { pages } } }
    """)
    assert body == {"data": {"search": [{"id": "b1", "pages": 412}, {"id": "m1"}, {"id": "b1", "pages": 412}]}}


async def test_interface_only_local_fields_is_one_fetch(abstract: Scenario) -> None:
    abstract.reset()
    gw = abstract.gateway()
    body = await run(gw, "{ media { id ... on Song { title } } }")
    assert body["data"]["media"][2] == {"id": "s1", "title": "Blue"}
    assert not abstract.subgraphs["b"].requests


# -- multi-hop keys with nulls ------------------------------------------------------------------

BOOKS = [{"id": "1", "upc": "b1", "author": {"id": "a1", "name": "Alice"}},
         {"id": "2", "upc": "b2", "author": {"id": "a2", "name": "Bob"}},
         {"id": "3", "upc": "b3", "author": {"id": "a3", "name": "Jack"}}]


@pytest.fixture(scope="module")
def multihop(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    def b_book(rep: dict[str, Any]) -> Any:
        book = next(b for b in BOOKS if rep.get("upc") == b["upc"] or rep.get("id") == b["id"])
        return None if book["id"] == "3" else {"id": book["id"], "upc": book["upc"]}

    yield start_scenario(subgraph_server, "multihop", {
        "a": {"fields": {"Query.bookContainers": lambda _s: [{"book": {"upc": b["upc"]}} for b in BOOKS]},
              "entities": {"Book": lambda r: {"upc": r["upc"]}}},
        "b": {"entities": {"Book": b_book}},
        "c": {"entities": {"Book": lambda r: next(b for b in BOOKS if b["id"] == r["id"])}},
    })


async def test_two_hops_and_a_null_entity(multihop: Scenario) -> None:
    gw = multihop.gateway()
    body = await run(gw, "{ bookContainers { book { upc author { name } } } }")
    assert body == {"data": {"bookContainers": [
        {"book": {"upc": "b1", "author": {"name": "Alice"}}},
        {"book": {"upc": "b2", "author": {"name": "Bob"}}},
        {"book": {"upc": "b3", "author": None}},
    ]}}


# -- mutations ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mutations(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    state: dict[str, int] = {}
    products: dict[str, dict[str, Any]] = {"p1": {"id": "p1", "name": "p1-name", "price": 9.99}}

    def add(_s: Any, a: dict[str, Any]) -> int:
        state[a["requestId"]] = state.get(a["requestId"], 0) + a["num"]
        return state[a["requestId"]]

    def multiply(_s: Any, a: dict[str, Any]) -> int:
        state[a["requestId"]] = state.get(a["requestId"], 0) * a["by"]
        return state[a["requestId"]]

    def add_product(_s: Any, a: dict[str, Any]) -> dict[str, Any]:
        p = {"id": f"p{len(products) + 1}", "name": a["name"], "price": a["price"]}
        products[p["id"]] = p
        return p

    yield start_scenario(subgraph_server, "mutations", {
        "a": {"fields": {"Mutation.add": add, "Mutation.delete": lambda _s, a: state.pop(a["requestId"]),
                         "Mutation.addProduct": add_product,
                         "Query.product": lambda _s, a: products.get(a["id"])},
              "entities": {"Product": lambda r: products.get(r["id"])}},
        "b": {"fields": {"Mutation.multiply": multiply,
                         "Product.isExpensive": lambda p: p["price"] > 500},
              "entities": {"Product": lambda r: dict(r)}},
    })


async def test_mutations_run_serially_in_document_order(mutations: Scenario) -> None:
    gw = mutations.gateway()
    body = await run(gw, """mutation {
        five: add(num: 5, requestId: "r") ten: multiply(by: 2, requestId: "r")
        twelve: add(num: 2, requestId: "r") final: delete(requestId: "r") }""")
    assert body == {"data": {"five": 5, "ten": 10, "twelve": 12, "final": 12}}


async def test_mutation_result_with_requires(mutations: Scenario) -> None:
    gw = mutations.gateway()
    body = await run(gw, 'mutation { addProduct(name: "new", price: 599.99) { name price isExpensive } }')
    assert body == {"data": {"addProduct": {"name": "new", "price": 599.99, "isExpensive": True}}}
    body = await run(gw, '{ product(id: "p1") { id isExpensive } }')
    assert body == {"data": {"product": {"id": "p1", "isExpensive": False}}}


async def test_mutations_refused_when_not_allowed(mutations: Scenario) -> None:
    gw = mutations.gateway()
    body = await run(gw, 'mutation { delete(requestId: "x") }', allow_mutations=False)
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "OPERATION_NOT_ALLOWED"


# -- @interfaceObject -----------------------------------------------------------------------------

ACCOUNTS = {"1": {"__typename": "Admin", "id": "1", "name": "Root", "isMain": True, "isActive": True},
            "2": {"__typename": "Regular", "id": "2", "name": "Joe", "isActive": False},
            "3": {"__typename": "Admin", "id": "3", "name": "Ann", "isMain": False, "isActive": True}}


@pytest.fixture(scope="module")
def ifaceobject(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    # b and c know Account only as an @interfaceObject: they answer "Never" as __typename on
    # purpose, the gateway must not trust it
    def b_account(id_: str) -> dict[str, Any]:
        return {"__typename": "Never", "id": id_, "score": int(id_) * 10}

    yield start_scenario(subgraph_server, "ifaceobject", {
        "a": {"fields": {"Query.accounts": lambda _s: list(ACCOUNTS.values())},
              "entities": {"Account": lambda r: ACCOUNTS.get(r["id"]),
                           "Admin": lambda r: ACCOUNTS.get(r["id"]),
                           "Regular": lambda r: ACCOUNTS.get(r["id"])}},
        "b": {"fields": {"Query.anyAccount": lambda _s: {"__typename": "Account", "id": "2", "score": 7},
                         "Query.allAccounts": lambda _s: [{"__typename": "Account", "id": i, "score": int(i) * 10}
                                                          for i in ACCOUNTS]},
              "entities": {"Account": lambda r: dict(b_account(r["id"]), __typename="Account")}},
        "c": {"entities": {"Account": lambda r: {"__typename": "Account", "id": r["id"], "isActive": False}}},
    })


async def test_interface_object_field_on_concrete_types(ifaceobject: Scenario) -> None:
    gw = ifaceobject.gateway()
    body = await run(gw, "{ accounts { __typename id score ... on Admin { isMain } } }")
    assert body == {"data": {"accounts": [
        {"__typename": "Admin", "id": "1", "score": 10, "isMain": True},
        {"__typename": "Regular", "id": "2", "score": 20},
        {"__typename": "Admin", "id": "3", "score": 30, "isMain": False},
    ]}}


async def test_interface_object_root_needs_real_typename(ifaceobject: Scenario) -> None:
    gw = ifaceobject.gateway()
    body = await run(gw, "{ anyAccount { id score __typename name ... on Regular { isActive } } }")
    assert body == {"data": {"anyAccount": {
        "id": "2", "score": 7, "__typename": "Regular", "name": "Joe", "isActive": False,
    }}}


async def test_interface_object_fields_only_is_one_fetch(ifaceobject: Scenario) -> None:
    ifaceobject.reset()
    gw = ifaceobject.gateway()
    body = await run(gw, "{ allAccounts { id score } }")
    assert body == {"data": {"allAccounts": [{"id": "1", "score": 10}, {"id": "2", "score": 20},
                                             {"id": "3", "score": 30}]}}
    assert not ifaceobject.subgraphs["a"].requests


async def test_fragment_on_interface_object_needs_the_type_then_comes_back(ifaceobject: Scenario) -> None:
    gw = ifaceobject.gateway()
    body = await run(gw, "{ allAccounts { ... on Admin { score __typename } } }")
    assert body == {"data": {"allAccounts": [{"score": 10, "__typename": "Admin"}, {},
                                             {"score": 30, "__typename": "Admin"}]}}


async def test_interface_object_field_from_another_interface_object(ifaceobject: Scenario) -> None:
    gw = ifaceobject.gateway()
    body = await run(gw, "{ allAccounts { id isActive } }")
    assert body == {"data": {"allAccounts": [{"id": "1", "isActive": False}, {"id": "2", "isActive": False},
                                             {"id": "3", "isActive": False}]}}
    body = await run(gw, "{ allAccounts { id ... on Admin { isActive } } }")
    assert body == {"data": {"allAccounts": [{"id": "1", "isActive": True}, {"id": "2"},
                                             {"id": "3", "isActive": True}]}}


# -- @shareable root fields -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def shareable(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    product = {"id": "1", "name": "Shared", "price": 3}
    yield start_scenario(subgraph_server, "shareable", {
        "a": {"fields": {"Query.product": lambda _s: product}, "entities": {"Product": lambda r: product}},
        "b": {"fields": {"Query.product": lambda _s: product}, "entities": {"Product": lambda r: product}},
    })


async def test_shareable_root_picks_the_subgraph_with_fewest_fetches(shareable: Scenario) -> None:
    shareable.reset()
    gw = shareable.gateway()
    body = await run(gw, "{ product { name price } }")
    assert body == {"data": {"product": {"name": "Shared", "price": 3}}}
    assert len(shareable.subgraphs["b"].requests) == 1
    assert not shareable.subgraphs["a"].requests


# -- child types differing between subgraphs -------------------------------------------------------

CT_USER = {"__typename": "User", "id": "u1", "name": "u1-name"}
CT_ADMIN = {"__typename": "Admin", "id": "a1", "name": "a1-name"}


@pytest.fixture(scope="module")
def childtype(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    both = [CT_USER, CT_ADMIN]
    yield start_scenario(subgraph_server, "childtype", {
        "a": {"fields": {"Query.accounts": lambda _s: [dict(x, similar=both) for x in both],
                         "User.similar": lambda _u: both, "Admin.similar": lambda _u: both},
              "entities": {"User": lambda r: CT_USER}},
        "b": {"fields": {"Query.users": lambda _s: [CT_USER]}, "entities": {"User": lambda r: CT_USER}},
    })


async def test_same_response_name_with_different_subgraph_types(childtype: Scenario) -> None:
    gw = childtype.gateway()
    body = await run(gw, """{
      users { id name }
      accounts {
        ... on User { id name similar { ... on User { id name } ... on Admin { id name } } }
        ... on Admin { id name similar { ... on User { id } ... on Admin { id } } }
      }
    }""")
    pair = [{"id": "u1", "name": "u1-name"}, {"id": "a1", "name": "a1-name"}]
    assert body == {"data": {
        "users": [{"id": "u1", "name": "u1-name"}],
        "accounts": [
            {"id": "u1", "name": "u1-name", "similar": pair},
            {"id": "a1", "name": "a1-name", "similar": [{"id": "u1"}, {"id": "a1"}]},
        ],
    }}


# -- shareable node root where each subgraph has other @external ids -------------------------------

PEOPLE = {"p1": {"__typename": "Person", "id": "p1", "handle": "p1-handle"}}
MESSAGES = {"m1": {"__typename": "Message", "id": "m1", "text": "m1-text", "authorId": "p1"}}


@pytest.fixture(scope="module")
def nodeid(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    def a_node(_s: Any, a: dict[str, Any]) -> Any:
        if a["id"] in PEOPLE:
            return PEOPLE[a["id"]]
        m = MESSAGES.get(a["id"])
        return {"__typename": "Message", "id": "never", "authorId": m["authorId"]} if m else None

    def b_node(_s: Any, a: dict[str, Any]) -> Any:
        if a["id"] in PEOPLE:
            return {"__typename": "Person", "id": "never"}
        return MESSAGES.get(a["id"])

    yield start_scenario(subgraph_server, "nodeid", {
        "a": {"fields": {"Query.node": a_node, "Query.person": lambda _s, a: PEOPLE.get(a["id"]),
                         "Message.author": lambda m: PEOPLE[MESSAGES[m["id"]]["authorId"]]},
              "entities": {"Person": lambda r: PEOPLE.get(r["id"]), "Message": lambda r: MESSAGES.get(r["id"])}},
        "b": {"fields": {"Query.node": b_node, "Query.message": lambda _s, a: MESSAGES.get(a["id"]),
                         "Person.messages": lambda p: [m for m in MESSAGES.values() if m["authorId"] == p["id"]]},
              "entities": {"Person": lambda r: {"id": r["id"]}, "Message": lambda r: MESSAGES.get(r["id"])}},
    })


async def test_node_root_field_goes_where_the_fragment_resolves(nodeid: Scenario) -> None:
    gw = nodeid.gateway()
    body = await run(gw, """{ p: node(id: "p1") { ... on Person { id handle } }
                             m: node(id: "m1") { ... on Message { id text } } }""")
    assert body == {"data": {"p": {"id": "p1", "handle": "p1-handle"}, "m": {"id": "m1", "text": "m1-text"}}}
    body = await run(gw, '{ p: node(id: "p1") { __typename ... on Message { id } } }')
    assert body == {"data": {"p": {"__typename": "Person"}}}


async def test_an_id_each_subgraph_has_external_for_another_type_is_read_where_it_resolves(nodeid: Scenario) -> None:
    """``{ node(id) { id } }``: ``a`` resolves ``Person.id`` but has ``Message.id`` @external, ``b`` the other way
    round. The shared ``node`` root is asked in both, each for the ids it resolves (a Message's id never from
    ``a``, a Person's never from ``b``). This was QUERY_PLANNING_FAILED until the walk kept the root as an
    anchor above an entity union member (issue 8); Apollo's planner throws on it."""
    gw = nodeid.gateway()
    for node_id in ("p1", "m1"):
        nodeid.reset()
        body = await run(gw, f'{{ node(id: "{node_id}") {{ id }} }}')
        assert body == {"data": {"node": {"id": node_id}}}
        [a_request] = nodeid.subgraphs["a"].requests
        [b_request] = nodeid.subgraphs["b"].requests
        assert "... on Person{id}" in a_request["query"] and "Message" not in a_request["query"]
        assert "... on Message{id}" in b_request["query"] and "Person" not in b_request["query"]


async def test_entity_jumps_both_ways(nodeid: Scenario) -> None:
    gw = nodeid.gateway()
    body = await run(gw, '{ message(id: "m1") { id text author { id handle messages { id } } } }')
    assert body == {"data": {"message": {"id": "m1", "text": "m1-text", "author": {
        "id": "p1", "handle": "p1-handle", "messages": [{"id": "m1"}]}}}}


# -- @interfaceObject with @requires ----------------------------------------------------------------

IO_USERS = {"u1": {"__typename": "User", "id": "u1", "name": "u1-name", "age": 11},
            "u2": {"__typename": "User", "id": "u2", "name": "u2-name", "age": 22}}


@pytest.fixture(scope="module")
def iorequires(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    def username(node: dict[str, Any]) -> str:
        if not node.get("name"):
            raise ValueError("requires field 'name' not provided")
        return node["id"] + "-username"

    yield start_scenario(subgraph_server, "iorequires", {
        "a": {"fields": {"Query.users": lambda _s: list(IO_USERS.values())},
              "entities": {"NodeWithName": lambda r: IO_USERS.get(r["id"]), "User": lambda r: IO_USERS.get(r["id"])}},
        "b": {"fields": {"Query.anotherUsers": lambda _s: [{"__typename": "NodeWithName", "id": i} for i in IO_USERS],
                         "NodeWithName.username": username},
              "entities": {"NodeWithName": lambda r: dict(r)}},
    })


@pytest.mark.parametrize("root", ["users", "anotherUsers"])
async def test_interface_object_requires(iorequires: Scenario, root: str) -> None:
    gw = iorequires.gateway()
    body = await run(gw, f"{{ {root} {{ id name username }} }}")
    assert body == {"data": {root: [{"id": "u1", "name": "u1-name", "username": "u1-username"},
                                    {"id": "u2", "name": "u2-name", "username": "u2-username"}]}}
    body = await run(gw, f"{{ {root} {{ ... on User {{ age id name username }} id name }} }}")
    assert body == {"data": {root: [
        {"age": 11, "id": "u1", "name": "u1-name", "username": "u1-username"},
        {"age": 22, "id": "u2", "name": "u2-name", "username": "u2-username"},
    ]}}
    body = await run(gw, f"{{ {root} {{ ... on User {{ age }} }} }}")
    assert body == {"data": {root: [{"age": 11}, {"age": 22}]}}


# -- @requires with field arguments, colliding with the client's own arguments ---------------------

RA_COMMENTS = [
    {"id": "c1", "postId": "p1", "authorId": "a2", "body": "hello"},
    {"id": "c2", "postId": "p1", "authorId": "a2", "body": "c2"},
    {"id": "c3", "postId": "p1", "authorId": "a2", "body": "spam"},
    {"id": "c4", "postId": "p2", "authorId": "a1", "body": "c4"},
    {"id": "c5", "postId": "p2", "authorId": "a1", "body": "c5"},
    {"id": "c6", "postId": "p2", "authorId": "a1", "body": "spam"},
]


@pytest.fixture(scope="module")
def reqargs(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    def comments_of(post: dict[str, Any], args: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"id": c["id"]} for c in RA_COMMENTS if c["postId"] == post["id"]][: args["limit"]]

    def post_ref(rep: dict[str, Any]) -> dict[str, Any]:
        if "comments" in rep:
            if len(rep["comments"]) != 3:
                raise ValueError("expected the 3 required comments")
            return {"id": rep["id"], "authorId": rep["comments"][2]["authorId"]}
        return {"id": rep["id"]}

    def comment_ref(rep: dict[str, Any]) -> dict[str, Any]:
        c = next(c for c in RA_COMMENTS if c["id"] == rep["id"])
        echoes = rep.get("echoes")
        return {"id": c["id"], "authorId": c["authorId"], "body": c["body"],
                "isSpam": bool(echoes) and all(all(x["id"] for x in p["comments"]) for p in echoes)}

    def echoes(comment: dict[str, Any]) -> list[dict[str, Any]]:
        c = next(x for x in RA_COMMENTS if x["id"] == comment["id"])
        return [{"id": x["postId"]} for x in RA_COMMENTS if x["body"] == c["body"] and x["postId"] != c["postId"]]

    yield start_scenario(subgraph_server, "reqargs", {
        "posts": {"fields": {"Query.feed": lambda _s: [{"id": "p1"}, {"id": "p2"}]},
                  "entities": {"Post": lambda r: {"id": r["id"]}, "Comment": comment_ref}},
        "threads": {"fields": {"Post.comments": comments_of,
                               "Post.author": lambda p: {"id": p["authorId"], "name": p["authorId"] + "-name"}
                               if p.get("authorId") else None,
                               "Comment.echoes": echoes},
                    "entities": {"Post": post_ref, "Comment": lambda r: {"id": r["id"]}}},
    })


async def test_requires_with_arguments(reqargs: Scenario) -> None:
    gw = reqargs.gateway()
    body = await run(gw, "{ feed { author { id } } }")
    assert body == {"data": {"feed": [{"author": {"id": "a2"}}, {"author": {"id": "a1"}}]}}


@pytest.mark.parametrize("query", [
    "{ feed { author { id } comments(limit: 1) { id } } }",
    "query($limit: Int = 1) { feed { author { id } comments(limit: $limit) { id } } }",
    "query($limit: Int = 1) { feed { author { id } ...Foo ...Bar } } "
    "fragment Foo on Post { comments(limit: $limit) { id } } fragment Bar on Post { comments(limit: $limit) { id } }",
])
async def test_requires_argument_collides_with_client_arguments(reqargs: Scenario, query: str) -> None:
    gw = reqargs.gateway()
    body = await run(gw, query)
    assert body == {"data": {"feed": [{"author": {"id": "a2"}, "comments": [{"id": "c1"}]},
                                      {"author": {"id": "a1"}, "comments": [{"id": "c4"}]}]}}


async def test_nested_requires_with_arguments(reqargs: Scenario) -> None:
    gw = reqargs.gateway()
    body = await run(gw, "{ feed { comments(limit: 3) { isSpam } } }")
    assert body == {"data": {"feed": [
        {"comments": [{"isSpam": False}, {"isSpam": False}, {"isSpam": True}]},
        {"comments": [{"isSpam": False}, {"isSpam": False}, {"isSpam": True}]},
    ]}}


# -- shared root fields of a type without keys ------------------------------------------------------

SR = {"id": "1", "name": {"brand": "Acme", "model": "X"}, "price": 100, "category": "Tools"}


@pytest.fixture(scope="module")
def sharedroot(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    def only(*keys: str) -> dict[str, Any]:
        return {k: SR[k] for k in keys}

    yield start_scenario(subgraph_server, "sharedroot", {
        "name": {"fields": {"Query.product": lambda _s: only("id", "name"),
                            "Query.products": lambda _s: [only("id", "name")]}},
        "price": {"fields": {"Query.product": lambda _s: only("id", "price"),
                             "Query.products": lambda _s: [only("id", "price")]}},
        "category": {"fields": {"Query.product": lambda _s: only("id", "category"),
                                "Query.products": lambda _s: [only("id", "category")]}},
    })


async def test_shared_root_without_keys_is_fetched_from_each_subgraph(sharedroot: Scenario) -> None:
    sharedroot.reset()
    gw = sharedroot.gateway()
    body = await run(gw, "{ product { id name { brand } category price } }")
    assert body == {"data": {"product": {"id": "1", "name": {"brand": "Acme"}, "category": "Tools", "price": 100}}}
    assert [len(app.requests) for app in sharedroot.subgraphs.values()] == [1, 1, 1]
    body = await run(gw, "{ products { price id category } }")
    assert body == {"data": {"products": [{"price": 100, "id": "1", "category": "Tools"}]}}


# -- a child value type split over subgraphs: fetched again from the parent entity -----------------


@pytest.fixture(scope="module")
def parentcall(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    yield start_scenario(subgraph_server, "parentcall", {
        "catalog": {"fields": {"Query.productFromCatalog": lambda _s, a: {"id": a["id"], "name": f"Product#{a['id']}"}},
                    "entities": {"Product": lambda r: {"id": r["id"], "name": f"Product#{r['id']}"}}},
        "details": {"entities": {"Product": lambda r: {"id": r["id"],
                                                       "category": {"details": f"Details for #{r['id']}"}}}},
        "links": {"entities": {"Product": lambda r: {"id": r["id"], "category": {"id": "3"}},
                               "Category": lambda r: {"id": r["id"]}}},
        "names": {"entities": {"Category": lambda r: {"id": r["id"], "name": f"Category#{r['id']}"}}},
    })


async def test_value_type_fields_from_two_parents(parentcall: Scenario) -> None:
    gw = parentcall.gateway()
    body = await run(gw, '{ productFromCatalog(id: "1") { id name category { id name details } } }')
    assert body == {"data": {"productFromCatalog": {"id": "1", "name": "Product#1", "category": {
        "id": "3", "name": "Category#3", "details": "Details for #1"}}}}


# -- a @requires whose input itself has a @requires ---------------------------------------------------


@pytest.fixture(scope="module")
def reqchain(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    user = {"id": "1", "firstName": "Jake", "lastName": "Dawkins"}

    def orders(u: dict[str, Any]) -> list[dict[str, Any]]:
        if not u.get("lastName"):
            raise ValueError("lastName is required")
        return [{"id": u["lastName"] + "1"}, {"id": u["lastName"] + "2"}]

    def need_orders(u: dict[str, Any]) -> list[dict[str, Any]]:
        if not isinstance(u.get("orders"), list):
            raise ValueError("orders are required")
        return u["orders"]

    yield start_scenario(subgraph_server, "reqchain", {
        "people": {"fields": {"Query.user": lambda _s: user}, "entities": {"User": lambda r: user}},
        "orders": {"fields": {"User.orders": orders}, "entities": {"User": dict, "Order": dict}},
        "stats": {"fields": {"User.orderCount": lambda u: len(need_orders(u)),
                             "User.firstOrderId": lambda u: need_orders(u)[0]["id"]},
                  "entities": {"User": dict}},
    })


async def test_requires_chain(reqchain: Scenario) -> None:
    reqchain.reset()
    gw = reqchain.gateway()
    body = await run(gw, "{ user { firstOrderId orderCount firstName } }")
    assert body == {"data": {"user": {"firstOrderId": "Dawkins1", "orderCount": 2, "firstName": "Jake"}}}
    # people once, orders once (lastName passed), stats once for both fields
    assert [len(app.requests) for app in reqchain.subgraphs.values()] == [1, 1, 1]
    assert reqchain.subgraphs["stats"].requests[0]["variables"]["representations"] == [
        {"__typename": "User", "id": "1", "orders": [{"id": "Dawkins1"}, {"id": "Dawkins2"}]},
    ]


@pytest.mark.parametrize(("flag", "first"), [
    (True, {"id": "b1", "pages": 412, "title": "Dune"}),
    (False, {"id": "b1"}),
])
async def test_conditional_type_fragments_across_subgraphs(abstract: Scenario, flag: bool,
                                                           first: dict[str, Any]) -> None:
    gw = abstract.gateway()
    body = await run(gw, """query($on: Boolean = true) {
        media { id ... on Book @include(if: $on) { pages ... on Book @skip(if: $on) { nope: title } title } }
    }""", {"on": flag})
    assert body["data"]["media"][0] == first
    assert body["data"]["media"][1] == {"id": "m1"}


# -- @override: plain, progressive (label off by default), from a subgraph that is gone -----------


@pytest.fixture(scope="module")
def override(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    a_product = {"id": "1", "name": "Widget", "price": -1, "stock": 5}
    yield start_scenario(subgraph_server, "override", {
        "a": {"fields": {"Query.product": lambda _s: a_product}, "entities": {"Product": lambda r: a_product}},
        "b": {"entities": {"Product": lambda r: {"id": r["id"], "price": 10, "stock": -1, "tag": "new"}}},
    })


async def test_overrides(override: Scenario) -> None:
    body = await run(override.gateway(), "{ product { name price stock tag } }")
    assert body == {"data": {"product": {"name": "Widget", "price": 10, "stock": 5, "tag": "new"}}}


# -- two @requires needing the same field with different arguments ---------------------------------


@pytest.fixture(scope="module")
def pricing(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    products = [{"upc": "p1", "name": "One", "price": 11, "weight": 1},
                {"upc": "p2", "name": "Two", "price": 22, "weight": 2}]

    def price(p: dict[str, Any], args: dict[str, Any]) -> int:
        base = next(x["price"] for x in products if x["upc"] == p["upc"])
        return {"USD": base, "EUR": base * 2}[args["currency"]]

    yield start_scenario(subgraph_server, "pricing", {
        "catalog": {"fields": {"Query.products": lambda _s: products, "Product.price": price},
                    "entities": {"Product": lambda r: next(x for x in products if x["upc"] == r["upc"])}},
        "shipping": {"fields": {"Product.estimate": lambda p: p["price"] * p["weight"] * 10,
                                "Product.estimateEUR": lambda p: p["price"] * p["weight"] * 10},
                     "entities": {"Product": dict}},
    })


async def test_same_input_field_with_different_arguments(pricing: Scenario) -> None:
    body = await run(pricing.gateway(), "{ products { upc estimate estimateEUR price(currency: \"USD\") } }")
    assert body == {"data": {"products": [
        {"upc": "p1", "estimate": 110, "estimateEUR": 220, "price": 11},
        {"upc": "p2", "estimate": 440, "estimateEUR": 880, "price": 22},
    ]}}


# -- @fromContext (join v0.5 context arguments) -----------------------------------------------------


@pytest.fixture(scope="module")
def context(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    ts = [{"id": "t1", "prop": "first", "u": {"id": "u1"}}, {"id": "t2", "prop": "second", "u": {"id": "u2"}},
          {"id": "t3", "prop": "first", "u": {"id": "u1"}}]
    yield start_scenario(subgraph_server, "context", {
        "a": {"fields": {"Query.t": lambda _s: ts[0], "Query.ts": lambda _s: ts,
                         "U.field": lambda u, args: f"{u['id']} in {args.get('a')}"},
              "entities": {"T": lambda r: next(t for t in ts if t["id"] == r["id"]), "U": lambda r: {"id": r["id"]}}},
        "b": {"entities": {"U": lambda r: {"id": r["id"], "name": "name of " + r["id"]}}},
    })


async def test_context_argument_is_read_from_the_ancestor(context: Scenario) -> None:
    context.reset()
    gw = context.gateway()
    body = await run(gw, "{ t { u { field name } } }")
    assert body == {"data": {"t": {"u": {"field": "u1 in first", "name": "name of u1"}}}}
    body = await run(gw, "{ ts { u { field } } }")
    assert body == {"data": {"ts": [{"u": {"field": "u1 in first"}}, {"u": {"field": "u2 in second"}},
                                    {"u": {"field": "u1 in first"}}]}}
