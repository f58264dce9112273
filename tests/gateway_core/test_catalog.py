"""Abstract types over six subgraphs: interfaces and unions spread out, @requires through
interface implementations, union members known to one subgraph only, conditional fragments."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .harness import Scenario, SubgraphServer, run, start_scenario

USERS = {"u1": "u1@example.com", "u2": "u2@example.com"}
ITEMS: list[dict[str, Any]] = [
    {"__typename": "Novel", "id": "n1", "sku": "sku-1", "title": "Novel 1",
     "dimensions": {"size": "small", "weight": 0.5}, "createdBy": "u1",
     "publisher": {"__typename": "Self", "email": "u1@example.com"}},
    {"__typename": "Novel", "id": "n3", "sku": "sku-3", "title": "Novel 3",
     "dimensions": {"size": "large", "weight": 1.5}, "createdBy": "u2",
     "publisher": {"__typename": "Self", "email": "u2@example.com"}},
    {"__typename": "Journal", "id": "j2", "sku": "sku-2", "title": "Journal 2",
     "dimensions": {"size": "small", "weight": 0.2}, "createdBy": "u1",
     "publisher": {"__typename": "Agency", "id": "a1"}},
    {"__typename": "Journal", "id": "j4", "sku": "sku-4", "title": "Journal 4",
     "dimensions": {"size": "small", "weight": 0.3}, "createdBy": "u2",
     "publisher": {"__typename": "Agency", "id": "a1"}},
]
BY_ID = {i["id"]: i for i in ITEMS}
REVIEWS = [{"id": 1, "itemId": "n1", "body": "great"}, {"id": 2, "itemId": "n1", "body": "fine"},
           {"id": 3, "itemId": "j2", "body": "meh"}]
AGENCIES = {"a1": {"id": "a1", "companyName": "Agency 1", "email": {"address": "a1@example.com"}}}


def _item_view(item: dict[str, Any]) -> dict[str, Any]:
    """What the items subgraph knows of an item."""
    return {k: v for k, v in item.items() if k != "title"}


def _similar(item: dict[str, Any]) -> list[dict[str, Any]]:
    return [_item_view(i) for i in ITEMS if i["__typename"] == item["__typename"] and i["id"] != item["id"]]


def _delivery(item: dict[str, Any], args: dict[str, Any]) -> dict[str, Any] | None:
    dims = item.get("dimensions")
    if not args.get("zip") or not dims:
        return None
    if dims["size"] == "small" and dims["weight"] < 1:
        return {"estimated": "1 day", "fastest": "same day"}
    return {"estimated": "3 days", "fastest": "2 days"}


def _reviews_of(item_id: str) -> list[dict[str, Any]]:
    return [{"id": r["id"], "body": r["body"], "product": {"__typename": BY_ID[r["itemId"]]["__typename"],
                                                          "id": r["itemId"]}}
            for r in REVIEWS if r["itemId"] == item_id]


RESOLVERS: dict[str, dict[str, Any]] = {
    "items": {
        "fields": {
            "Query.items": lambda _s: [_item_view(i) for i in ITEMS],
            "Query.similar": lambda _s, a: _similar(BY_ID[a["id"]]),
            "Novel.similar": _similar,
            "Journal.similar": _similar,
            "Novel.createdBy": lambda i: {"email": USERS[BY_ID[i["id"]]["createdBy"]]},
            "Journal.createdBy": lambda i: {"email": USERS[BY_ID[i["id"]]["createdBy"]]},
            "User.itemsCreated": lambda u: sum(1 for i in ITEMS if USERS[i["createdBy"]] == u["email"]),
        },
        "entities": {"Novel": lambda r: _item_view(BY_ID[r["id"]]), "Journal": lambda r: _item_view(BY_ID[r["id"]]),
                     "User": lambda r: {"email": r["email"]}},
    },
    "novels": {"entities": {"Novel": lambda r: {"id": r["id"], "title": BY_ID[r["id"]]["title"]}}},
    "journals": {"entities": {"Journal": lambda r: {"id": r["id"], "title": BY_ID[r["id"]]["title"]}}},
    "agencies": {"entities": {"Agency": lambda r: AGENCIES.get(r["id"]),
                              "Group": lambda r: {"id": r["id"], "name": "Group " + r["id"]}}},
    "shipping": {
        "fields": {"Novel.delivery": _delivery, "Journal.delivery": _delivery},
        "entities": {"Novel": dict, "Journal": dict},
    },
    "reviews": {
        "fields": {
            "Query.review": lambda _s, a: next((x for i in ITEMS for x in _reviews_of(i["id"]) if x["id"] == a["id"]),
                                               None),
            "Novel.reviews": lambda i: _reviews_of(i["id"]),
            "Journal.reviews": lambda i: _reviews_of(i["id"]),
            "Novel.reviewsCount": lambda i: len(_reviews_of(i["id"])),
            "Journal.reviewsCount": lambda i: len(_reviews_of(i["id"])),
            "Novel.reviewsOfSimilar": lambda i: [r for s in i["similar"] for r in _reviews_of(s["id"])],
            "Journal.reviewsOfSimilar": lambda i: [r for s in i["similar"] for r in _reviews_of(s["id"])],
        },
        "entities": {"Novel": dict, "Journal": dict},
    },
}


@pytest.fixture(scope="module")
def catalog(subgraph_server: SubgraphServer) -> Iterator[Scenario]:
    yield start_scenario(subgraph_server, "catalog", RESOLVERS)


async def test_interface_fields_and_shareable_value_types(catalog: Scenario) -> None:
    body = await run(catalog.gateway(), "{ items { id dimensions { size weight } } }")
    assert body == {"data": {"items": [
        {"id": "n1", "dimensions": {"size": "small", "weight": 0.5}},
        {"id": "n3", "dimensions": {"size": "large", "weight": 1.5}},
        {"id": "j2", "dimensions": {"size": "small", "weight": 0.2}},
        {"id": "j4", "dimensions": {"size": "small", "weight": 0.3}},
    ]}}


async def test_requires_on_interface_implementations_under_aliases(catalog: Scenario) -> None:
    body = await run(catalog.gateway(), """{
      novel: similar(id: "n1") { id sku delivery(zip: "1234") { fastest estimated } }
      journal: similar(id: "j2") { id sku delivery(zip: "1234") { fastest estimated } }
    }""")
    assert body == {"data": {
        "novel": [{"id": "n3", "sku": "sku-3", "delivery": {"fastest": "2 days", "estimated": "3 days"}}],
        "journal": [{"id": "j4", "sku": "sku-4", "delivery": {"fastest": "same day", "estimated": "1 day"}}],
    }}


async def test_overlapping_fragments_and_typename_aliases(catalog: Scenario) -> None:
    body = await run(catalog.gateway(), """{ items { sku ... on Item { sku } ... on Novel { sku }
        ... on Journal { sku } ... on Similar { __typename type: __typename } } }""")
    assert body["data"]["items"] == [
        {"sku": "sku-1", "__typename": "Novel", "type": "Novel"},
        {"sku": "sku-3", "__typename": "Novel", "type": "Novel"},
        {"sku": "sku-2", "__typename": "Journal", "type": "Journal"},
        {"sku": "sku-4", "__typename": "Journal", "type": "Journal"},
    ]


async def test_entity_behind_interface_field_and_fragment_from_other_subgraph(catalog: Scenario) -> None:
    body = await run(catalog.gateway(), """{ items { author: createdBy { email itemsCreated }
        ... on Journal { title } } }""")
    assert body["data"]["items"] == [
        {"author": {"email": "u1@example.com", "itemsCreated": 2}},
        {"author": {"email": "u2@example.com", "itemsCreated": 2}},
        {"author": {"email": "u1@example.com", "itemsCreated": 2}, "title": "Journal 2"},
        {"author": {"email": "u2@example.com", "itemsCreated": 2}, "title": "Journal 4"},
    ]


async def test_entities_returned_through_an_interface(catalog: Scenario) -> None:
    body = await run(catalog.gateway(), """{ items { id reviews { product { sku
        ... on Journal { title } ... on Novel { reviewsCount } } } } }""")
    assert body["data"]["items"] == [
        {"id": "n1", "reviews": [{"product": {"sku": "sku-1", "reviewsCount": 2}},
                                 {"product": {"sku": "sku-1", "reviewsCount": 2}}]},
        {"id": "n3", "reviews": []},
        {"id": "j2", "reviews": [{"product": {"sku": "sku-2", "title": "Journal 2"}}]},
        {"id": "j4", "reviews": []},
    ]


@pytest.mark.parametrize(("variables", "novel"), [
    ({"title": True}, {"id": "n1", "title": "Novel 1"}),
    ({"title": False}, {"id": "n1"}),
])
async def test_include_on_type_fragments(catalog: Scenario, variables: dict[str, Any],
                                         novel: dict[str, Any]) -> None:
    body = await run(catalog.gateway(), """query($title: Boolean = true) { items { id reviews { product { id
        ... on Novel @include(if: $title) { title ... on Novel @skip(if: $title) { sku } }
        ... on Journal { sku } } } } }""", variables)
    assert body["data"]["items"][0]["reviews"] == [{"product": novel}, {"product": novel}]
    assert body["data"]["items"][2]["reviews"] == [{"product": {"id": "j2", "sku": "sku-2"}}]


async def test_union_members_known_to_one_subgraph_and_differing_child_types(catalog: Scenario) -> None:
    body = await run(catalog.gateway(), """{ items { id ... on Journal { publisher { ...P } }
        ... on Novel { publisher { ...P } } } }
      fragment P on Publisher {
        ... on Agency { emailObj: email { address } companyName }
        ... on Self { emailStr: email }
        ... on Group { emailStr: email }
      }""")
    assert body["data"]["items"] == [
        {"id": "n1", "publisher": {"emailStr": "u1@example.com"}},
        {"id": "n3", "publisher": {"emailStr": "u2@example.com"}},
        {"id": "j2", "publisher": {"emailObj": {"address": "a1@example.com"}, "companyName": "Agency 1"}},
        {"id": "j4", "publisher": {"emailObj": {"address": "a1@example.com"}, "companyName": "Agency 1"}},
    ]


async def test_requires_of_a_list_of_entities(catalog: Scenario) -> None:
    body = await run(catalog.gateway(), '{ similar(id: "n1") { id ... on Novel { reviewsOfSimilar { id body } } } }')
    assert body == {"data": {"similar": [{"id": "n3", "reviewsOfSimilar": [{"id": 1, "body": "great"},
                                                                          {"id": 2, "body": "fine"}]}]}}
    body = await run(catalog.gateway(), '{ review(id: 3) { body product { id ... on Journal { reviewsOfSimilar '
                                        '{ id } title } } } }')
    assert body == {"data": {"review": {"body": "meh", "product": {"id": "j2", "reviewsOfSimilar": [],
                                                                   "title": "Journal 2"}}}}
