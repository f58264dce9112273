"""@defer through the gateway against the real DPP subgraphs (multipart/mixed;deferSpec=20220824).

The templates subgraph is behind a gate (tests/defer/conftest.py): closing it proves the first
payload was sent while the deferred subgraph had not answered, without timing anything.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from typing import Any

import httpx
import pytest

from tests.gateway_http.auth_stack import serving_gateway
from tests.support.request_id import checked, tagged, untagged

from .conftest import MULTIPART, Stack, read_parts

LIST = '{ categories { id name ... @defer(label: "templates") { templates { name } } } }'
PLAIN_LIST = "{ categories { id name templates { name } } }"
NESTED = ('{ categories { id ... @defer(label: "outer") { name '
          '... @defer(label: "inner") { templates { name version } } } } }')
PLAIN_NESTED = "{ categories { id name templates { name version } } }"


def merged(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """What a client holds once every part is applied (data of each item merged at its path)."""
    data = copy.deepcopy(parts[0]["data"])
    for part in parts[1:]:
        for item in part.get("incremental", ()):
            target = data
            for seg in item["path"]:
                target = target[seg]
            _deep_merge(target, item["data"])
    return data


def _deep_merge(target: dict[str, Any], source: dict[str, Any]) -> None:
    for k, v in source.items():
        if isinstance(v, dict) and isinstance(target.get(k), dict):
            _deep_merge(target[k], v)
        elif isinstance(v, list) and isinstance(target.get(k), list):
            for t, s in zip(target[k], v, strict=True):
                if isinstance(t, dict) and isinstance(s, dict):
                    _deep_merge(t, s)
        else:
            target[k] = v


def all_parts(stack: Stack, query: str, variables: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    stream = stack.parts(query, variables)
    response = next(stream)
    assert response.headers["content-type"] == 'multipart/mixed;boundary="graphql";deferSpec=20220824'
    return list(stream)


def test_the_first_part_arrives_before_the_deferred_subgraph_answers(stack: Stack) -> None:
    gate = stack.templates
    gate.close()
    try:
        passed = gate.passed
        stream = stack.parts(LIST)
        response = next(stream)
        assert response.status_code == 200
        first = next(stream)
        # the deferred fetch is waiting at the templates subgraph, and nothing got through yet
        assert gate.waiting.acquire(timeout=20)
        assert gate.passed == passed
        assert first["hasNext"] is True
        assert "errors" not in first
        assert first["data"]["categories"] and all(set(c) == {"id", "name"} for c in first["data"]["categories"])
    finally:
        gate.open()
    rest = list(stream)
    assert gate.passed > passed
    assert rest[-1]["hasNext"] is False
    assert merged([first, *rest]) == stack.post(PLAIN_LIST).json()["data"]


def test_labels_and_paths_one_item_per_list_element(stack: Stack) -> None:
    parts = all_parts(stack, LIST)
    assert len(parts) == 2 and parts[1]["hasNext"] is False
    categories = parts[0]["data"]["categories"]
    items = parts[1]["incremental"]
    assert [i["path"] for i in items] == [["categories", n] for n in range(len(categories))]
    assert {i["label"] for i in items} == {"templates"}
    assert all(set(i["data"]) == {"templates"} for i in items)
    assert merged(parts) == stack.post(PLAIN_LIST).json()["data"]


def test_a_client_without_multipart_gets_the_merged_answer(stack: Stack) -> None:
    plain = stack.post(PLAIN_LIST).json()
    for accept in ("application/json", "application/graphql-response+json", "*/*"):
        response = stack.post(LIST, accept=accept)
        assert response.headers["content-type"].startswith(accept if accept != "*/*" else "application/json")
        assert response.json() == plain
    assert stack.post(NESTED).json() == stack.post(PLAIN_NESTED).json()


def test_nested_defer_delivers_the_outer_block_first(stack: Stack) -> None:
    parts = all_parts(stack, NESTED)
    labels = [{i.get("label") for i in p.get("incremental", ())} for p in parts[1:]]
    assert labels == [{"outer"}, {"inner"}]
    assert parts[0]["data"]["categories"][0].keys() == {"id"}
    assert all(i["data"].keys() == {"name"} for i in parts[1]["incremental"])
    assert all(i["data"].keys() == {"templates"} for i in parts[2]["incremental"])
    assert [p["hasNext"] for p in parts] == [True, True, False]
    assert merged(parts) == stack.post(PLAIN_NESTED).json()["data"]


def test_defer_in_a_nested_list_of_entities(stack: Stack) -> None:
    query = ('{ products(first: 3) { totalCount edges { node { name ... @defer(label: "p") '
             "{ passports { name status } category { templates { name } } } } } } }")
    plain = ("{ products(first: 3) { totalCount edges { node { name passports { name status } "
             "category { templates { name } } } } } }")
    parts = all_parts(stack, query)
    edges = parts[0]["data"]["products"]["edges"]
    assert edges
    paths = [i["path"] for p in parts[1:] for i in p.get("incremental", ())]
    assert sorted(paths) == [["products", "edges", n, "node"] for n in range(len(edges))]
    assert merged(parts) == stack.post(plain).json()["data"]


def test_defer_at_the_root(stack: Stack) -> None:
    query = '{ categories { name } ... @defer(label: "later") { products(first: 2) { totalCount } } }'
    parts = all_parts(stack, query)
    assert parts[0]["data"].keys() == {"categories"}
    assert parts[1]["incremental"] == [
        {"data": {"products": {"totalCount": parts[1]["incremental"][0]["data"]["products"]["totalCount"]}},
         "path": [], "label": "later"}
    ]
    assert merged(parts) == stack.post("{ categories { name } products(first: 2) { totalCount } }").json()["data"]


def test_an_error_inside_a_deferred_part_is_carried_in_that_part(stack: Stack) -> None:
    stack.templates.failing = True
    try:
        stream = stack.parts(LIST)
        response = next(stream)
        parts = list(stream)
        whole = checked(stack.post(PLAIN_LIST))  # requestId checked against its x-request-id, then left out
    finally:
        stack.templates.failing = False
    assert "errors" not in parts[0]
    items = parts[1]["incremental"]
    errors = [e for i in items for e in i.get("errors", ())]
    assert errors and {e["extensions"]["code"] for e in errors} == {"SUBGRAPH_FETCH_FAILED"}
    holder = next(i for i in items if i.get("errors"))
    assert errors[0]["path"][: len(holder["path"])] == holder["path"]
    assert all(i["data"] == {"templates": None} for i in items)
    assert parts[-1]["hasNext"] is False
    # the same holes and the same errors as the answer without @defer, each with the id of its request
    assert merged(parts) == whole["data"]
    assert untagged(errors, response.headers["x-request-id"]) == whole["errors"]


def test_defer_if_false_and_no_defer_answer_plain_json(stack: Stack) -> None:
    query = "query($v: Boolean!) { categories { id ... @defer(if: $v) { templates { name } } } }"
    off = stack.post(query, {"v": False}, accept=MULTIPART)
    assert off.headers["content-type"].startswith("application/json")
    assert off.json() == stack.post("{ categories { id templates { name } } }").json()
    on = all_parts(stack, query, {"v": True})
    assert len(on) == 2
    plain = stack.post(PLAIN_LIST, accept=MULTIPART)
    assert plain.headers["content-type"].startswith("application/json")


def test_a_client_naming_only_multipart_is_served(stack: Stack) -> None:
    stream = stack.parts(LIST, accept="multipart/mixed; deferSpec=20220824")
    response = next(stream)
    assert response.status_code == 200
    parts = list(stream)
    assert parts[-1]["hasNext"] is False


def test_request_errors_stay_json(stack: Stack) -> None:
    response = stack.post('{ categories { ... @defer(label: "a") { id } ... @defer(label: "a") { name } } }',
                          accept=MULTIPART)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_a_deferred_fragment_left_out_by_include_has_no_item(stack: Stack) -> None:
    query = "query($i: Boolean!) { categories { id ... @defer @include(if: $i) { templates { name } } } }"
    passed = stack.templates.passed
    parts = all_parts(stack, query, {"i": False})
    assert parts[1:] == [{"hasNext": False}]
    assert stack.templates.passed == passed  # the deferred fetch was not sent
    assert merged(parts) == stack.post(query, {"i": False}).json()["data"]


def test_introspection_in_a_deferred_fragment(stack: Stack) -> None:
    query = '{ categories { id } ... @defer(label: "meta") { __typename t: __type(name: "Category") { name } } }'
    parts = all_parts(stack, query)
    assert parts[1]["incremental"] == [
        {"data": {"__typename": "Query", "t": {"name": "Category"}}, "path": [], "label": "meta"}
    ]
    assert merged(parts) == stack.post(query).json()["data"]


def test_the_router_timeout_ends_the_deferred_parts_with_gateway_timeout(impatient: Stack) -> None:
    gate = impatient.templates
    gate.close()
    try:
        stream = impatient.parts(LIST)
        response = next(stream)
        first = next(stream)
        assert first["hasNext"] is True and first["data"]["categories"]
        last = next(stream)  # the templates subgraph is still held
        assert last == tagged({
            "errors": [{"message": "The deferred parts did not complete within 1 seconds",
                        "extensions": {"code": "GATEWAY_TIMEOUT"}}],
            "hasNext": False,
        }, response.headers["x-request-id"])
        assert list(stream) == []
    finally:
        gate.open()


def test_the_debug_plan_header_shows_the_defer_plan(stack: Stack) -> None:
    settings = dataclasses.replace(stack.settings, development=True)
    with serving_gateway(settings) as gateway:
        headers = {"accept": MULTIPART, "authorization": f"Bearer {stack.token()}", "x-gateway-debug-plan": "1"}
        with httpx.stream("POST", gateway.url + "/graphql", json={"query": LIST}, headers=headers,
                          timeout=60) as response:
            parts = list(read_parts(response.iter_bytes()))
    text = parts[0]["extensions"]["queryPlan"]["text"]
    assert "Defer {" in text and 'Deferred(id: 1, depends: primary, path: "categories.@", label: "templates")' in text
    assert "extensions" not in parts[1]


def test_a_client_leaving_mid_stream_leaves_no_error(stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    gate = stack.templates
    gate.close()
    try:
        stream = stack.parts(LIST)
        next(stream)
        assert next(stream)["hasNext"] is True
        assert gate.waiting.acquire(timeout=20)
        stream.close()  # the client goes away while the deferred fetch is held
    finally:
        gate.open()
    assert merged(all_parts(stack, LIST)) == stack.post(PLAIN_LIST).json()["data"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("gateway")]


def test_a_gateway_with_an_introspection_policy_serves_defer(stack: Stack) -> None:
    """/graphql with introspection "authenticated" runs a policed Gateway subclass whose execute
    takes **options: it is asked for incremental delivery too (it answered one JSON body before)."""
    settings = dataclasses.replace(stack.settings, introspection="authenticated")
    with serving_gateway(settings) as gateway:
        headers = {"accept": MULTIPART, "authorization": f"Bearer {stack.token()}"}
        with httpx.stream("POST", gateway.url + "/graphql", json={"query": LIST}, headers=headers,
                          timeout=60) as response:
            assert response.headers["content-type"].startswith("multipart/mixed")
            parts = list(read_parts(response.iter_bytes()))
    assert [p["hasNext"] for p in parts] == [True, False]


def test_a_block_re_asked_from_the_root_keeps_the_conditions_on_its_way(stack: Stack) -> None:
    query = ("query($x: Boolean!) { ... @include(if: $x) { products(first: 2) { totalCount "
             "... @defer(label: \"edges\") { edges { node { name } } } } } }")
    off = all_parts(stack, query, {"x": False})
    assert off == [{"data": {}, "hasNext": True}, {"hasNext": False}]
    on = all_parts(stack, query, {"x": True})
    assert [i["path"] for i in on[1]["incremental"]] == [["products"]]
    assert merged(on) == stack.post(query.replace(' @defer(label: "edges")', ""), {"x": True}).json()["data"]


def test_defer_on_a_named_fragment_spread(stack: Stack) -> None:
    query = ('query { categories { id ...T @defer(label: "t") } products(first: 1) { edges { node { category '
             "{ ...T } } } } } fragment T on Category { templates { name } }")
    parts = all_parts(stack, query)
    category = parts[0]["data"]["products"]["edges"][0]["node"]["category"]
    assert "templates" in category  # the same fragment spread without @defer is in the first part
    assert {i["label"] for i in parts[1]["incremental"]} == {"t"}
    assert merged(parts) == stack.post(query.replace(' @defer(label: "t")', "")).json()["data"]
