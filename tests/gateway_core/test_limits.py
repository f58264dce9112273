"""The operation limits (graphql_limits, gateway/limits.py), linear normalisation and the plan cache's byte bound.

Each limit is shown refusing the attack it is meant for with its code; the defaults
are shown admitting the full introspection query, the benchmark's heavy query, the
end-to-end query and every plan-snapshot operation.
"""

from __future__ import annotations

import importlib.util
import tracemalloc
from pathlib import Path
from types import ModuleType

import pytest
from graphql import GraphQLError, OperationDefinitionNode, get_introspection_query, parse

from gateway.limits import OperationLimitsStage, limits_from_settings
from gateway.plan_cache import PlanCache, estimate_prepared_bytes
from gateway.planner import normalize_operation
from gateway.runtime import Gateway
from gateway.settings import Settings
from graphql_limits import (
    DEFAULT_LIMITS,
    MAX_ALIASES_LIMIT,
    MAX_DEPTH_LIMIT,
    MAX_DIRECTIVES_LIMIT,
    MAX_FRAGMENTS_LIMIT,
    MAX_HEIGHT_LIMIT,
    MAX_INTROSPECTION_FIELDS_LIMIT,
    MAX_ROOT_FIELDS_LIMIT,
    MAX_TOKENS_LIMIT,
    OperationLimits,
    check_document,
    measure_document,
    parse_document,
)
from tests.e2e.test_stack import CROSS_QUERY
from tests.support.work import calls_made

from .test_plans import CASES

ROOT = Path(__file__).resolve().parents[2]
NO_LIMITS = OperationLimits(*(None,) * 8)


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_subgraphs_limits", ROOT / "bench" / "subgraphs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _bench()
FULL_INTROSPECTION = get_introspection_query(
    descriptions=True,
    specified_by_url=True,
    directive_is_repeatable=True,
    schema_description=True,
    input_value_deprecation=True,
)


def fragment_bomb(levels: int) -> str:
    """The issue's attack: ``levels`` named fragments, each spreading the next twice."""
    frags = [f"fragment F{i} on Product {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    frags.append(f"fragment F{levels} on Product {{ upc name }}")
    return "{ topProducts { ...F0 } }\n" + "\n".join(frags)


def codes(query: str, limits: OperationLimits = DEFAULT_LIMITS) -> set[str]:
    try:
        document = parse_document(query, limits)
    except GraphQLError as exc:
        return {(exc.extensions or {})["code"]}
    return {e.code for e in check_document(document, limits)}


def _measure(query: str):  # type: ignore[no-untyped-def]
    _count, measures = measure_document(parse(query))
    (measure,) = measures.values()
    return measure


@pytest.fixture(scope="module")
def gateway() -> Gateway:
    return Gateway.from_supergraph_sdl(bench.supergraph_sdl("http://127.0.0.1:1"))


# -- the measure ---------------------------------------------------------------------------


def test_fragment_bomb_is_measured_without_expansion() -> None:
    ten, twenty = fragment_bomb(10), fragment_bomb(20)
    small, big = calls_made(lambda: _measure(ten)), calls_made(lambda: _measure(twenty))
    measure = big.result
    assert measure.depth == 2  # topProducts { upc }: the real depth, fragments add no level
    assert measure.height == 1 + 2 * 2**20  # every spread counted, as if inlined
    assert measure.root_fields == 1
    # twice the fragments, about twice the work (expanding the spreads would be 1,024 times the work)
    assert big.calls < 3 * small.calls, (small.calls, big.calls)
    # a hundred levels: the figures saturate instead of growing into huge integers
    assert _measure(fragment_bomb(100)).height == 1 << 40


def test_a_fragment_chain_deeper_than_the_interpreter_goes_is_refused() -> None:
    chain = fragment_bomb(2_000)
    assert codes(chain, OperationLimits(max_tokens=None)) == {MAX_FRAGMENTS_LIMIT}  # counted before any walk
    assert codes(chain, NO_LIMITS) == {MAX_DEPTH_LIMIT}  # no RecursionError escapes


def test_fragments_count_where_they_are_spread() -> None:
    query = """
    query Q @a { ...Root b: __schema { queryType { name } } }
    fragment Root on Query { x: topProducts { ...P ...P } topProducts @skip(if: true) { upc } }
    fragment P on Product { a: upc @include(if: true) reviews { body } }
    """
    measure = _measure(query)
    assert measure.depth == 3  # x.reviews.body
    assert measure.height == 1 + 2 * 3 + 2 + 3  # x, twice (a, reviews, body), topProducts, upc, b, queryType, name
    assert measure.aliases == 1 + 2 + 1  # x, a twice, b
    assert measure.directives == 1 + 1 + 2  # @a, @skip, @include twice
    assert measure.root_fields == 3  # x, topProducts, b
    assert measure.introspection == 1


def test_unknown_and_cyclic_fragments_count_nothing() -> None:
    query = "{ ...A ...Missing } fragment A on Query { ...B users { id } } fragment B on Query { ...A }"
    measure = _measure(query)
    assert (measure.height, measure.root_fields) == (2, 1)


@pytest.mark.parametrize(
    ("query", "limits", "code"),
    [
        ("{ " + " ".join(f"a{i}: __typename" for i in range(101)) + " }", DEFAULT_LIMITS, MAX_ALIASES_LIMIT),
        ("{ users " + "{ reviews { author " * 11 + "{ id }" + " } }" * 11 + " }", DEFAULT_LIMITS, MAX_DEPTH_LIMIT),
        (fragment_bomb(11), DEFAULT_LIMITS, MAX_HEIGHT_LIMIT),
        ("{ " + " ".join(["__typename"] * 51) + " }", DEFAULT_LIMITS, MAX_ROOT_FIELDS_LIMIT),
        ("{ users { id" + " @skip(if: false)" * 51 + " } }", DEFAULT_LIMITS, MAX_DIRECTIVES_LIMIT),
        (
            "{ ...F0 } " + " ".join(f"fragment F{i} on Query {{ __typename }}" for i in range(101)),
            DEFAULT_LIMITS,
            MAX_FRAGMENTS_LIMIT,
        ),
        (
            "{ __schema { queryType { name } } "
            + " ".join(f't{i}: __type(name: "User") {{ name }}' for i in range(10))
            + " }",
            OperationLimits(max_aliases=None),
            MAX_INTROSPECTION_FIELDS_LIMIT,
        ),
        ("{ " + "a " * 5_001 + "}", DEFAULT_LIMITS, MAX_TOKENS_LIMIT),
        ("{ a }" + "\n#" * 5_001, DEFAULT_LIMITS, MAX_TOKENS_LIMIT),  # comments count too
        ("{ a " + "{ a " * 1_500 + "}" * 1_501, DEFAULT_LIMITS, MAX_DEPTH_LIMIT),  # deeper than the parser follows
    ],
    ids=[
        "aliases",
        "depth",
        "height",
        "root-fields",
        "directives",
        "fragments",
        "introspection",
        "tokens",
        "comments",
        "parser-depth",
    ],
)
def test_each_limit_refuses_with_its_code(query: str, limits: OperationLimits, code: str) -> None:
    assert code in codes(query, limits)
    assert codes(query, NO_LIMITS) <= {MAX_DEPTH_LIMIT}  # off: only the parser's own recursion bound remains


def test_every_operation_of_the_document_is_checked() -> None:
    query = "query Small { users { id } } query Big { " + " ".join(f"a{i}: __typename" for i in range(101)) + " }"
    assert codes(query) == {MAX_ALIASES_LIMIT, MAX_ROOT_FIELDS_LIMIT}


def test_defaults_admit_our_clients_benchmarks_and_introspection() -> None:
    operations = {
        "end-to-end cross query": CROSS_QUERY,
        "full introspection": FULL_INTROSPECTION,
        "minimal introspection": get_introspection_query(),
        "bench heavy query": bench.HEAVY_QUERY,
        **{f"plan {name}": query for name, (_scenario, query) in CASES.items()},
    }
    for name, query in operations.items():
        assert codes(query) == set(), name
    intro = _measure(FULL_INTROSPECTION)
    assert intro.depth <= DEFAULT_LIMITS.max_depth - 5  # type: ignore[operator]
    assert intro.height <= DEFAULT_LIMITS.max_height // 5  # type: ignore[operator]


# -- normalisation and the runtime ------------------------------------------------------------


def test_normalising_the_fragment_bomb_is_linear() -> None:
    figures = []
    for levels in (10, 20, 30):
        document = parse(fragment_bomb(levels))
        operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        tracemalloc.start()
        work = calls_made(lambda: normalize_operation(document, operation))  # noqa: B023 (called at once)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        figures.append((levels, work.calls, peak))
    print("normalise (levels, Python calls, peak bytes):", figures)
    # before: 16 levels took 4.9 s and 91 MB, each level doubling both; now three times the levels,
    # about three times the calls and the memory
    assert figures[-1][1] < 4 * figures[0][1], figures
    assert figures[-1][2] < 4 * figures[0][2] + 50_000, figures


def test_the_bomb_is_planned_small_when_limits_are_off() -> None:
    gateway = Gateway.from_supergraph_sdl(bench.supergraph_sdl("http://127.0.0.1:1"), limits=NO_LIMITS)
    ten, thirty = fragment_bomb(10), fragment_bomb(30)
    small = calls_made(lambda: gateway.prepare(ten, None))
    big = calls_made(lambda: gateway.prepare(thirty, None))
    prepared = big.result
    assert not prepared.errors and not small.result.errors
    # three times the fragments, at most about three times the work (2**20 times if the spreads were expanded)
    assert big.calls < 4 * small.calls, (small.calls, big.calls)
    assert len(prepared.plan_text) < 1_000, prepared.plan_text


def test_runtime_refuses_before_validating_and_caches_the_refusal_small(gateway: Gateway) -> None:
    aliases = "{ " + " ".join(f"a{i}: topProducts {{ upc }}" for i in range(600)) + " }"
    work = calls_made(lambda: gateway.prepare(aliases, None))
    prepared = work.result
    # refused by the limits stage: graphql-core's validation (and the planner) never ran
    assert not any(name.startswith(("graphql.validation.", "gateway.planner.")) for name in work.entered), sorted(
        name for name in work.entered if name.startswith(("graphql.validation.", "gateway.planner."))
    )
    assert [e["extensions"]["code"] for e in prepared.errors] == [MAX_ALIASES_LIMIT, MAX_ROOT_FIELDS_LIMIT]
    assert prepared.document is None and prepared.operation is None
    assert gateway.limits.refusals[MAX_ALIASES_LIMIT] >= 1
    bomb = gateway.prepare(fragment_bomb(20), None)
    assert [e["extensions"]["code"] for e in bomb.errors] == [MAX_HEIGHT_LIMIT]
    assert "(2,097,153 > 2,000)" in bomb.errors[0]["message"]
    tokens = gateway.prepare("{ " + "a " * 20_000 + "}", None)
    assert tokens.errors[0]["extensions"]["code"] == MAX_TOKENS_LIMIT
    syntax = gateway.prepare("{ a", None)
    assert syntax.errors[0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


def test_the_runtime_admits_full_introspection(gateway: Gateway) -> None:
    prepared = gateway.prepare(FULL_INTROSPECTION, "IntrospectionQuery")
    assert not prepared.errors


# -- the plan cache ---------------------------------------------------------------------------


def test_plan_cache_evicts_by_bytes_and_entries() -> None:
    cache: PlanCache[str] = PlanCache(max_entries=3, max_bytes=1_000)
    cache.put("a", "A", 400)
    cache.put("b", "B", 400)
    assert cache.get("a") == "A"  # a is now the most recent
    cache.put("c", "C", 400)  # over 1,000 bytes: b (least recently used) goes
    assert (cache.get("b"), cache.get("a"), cache.get("c"), cache.bytes) == (None, "A", "C", 800)
    cache.put("huge", "H", 5_000)  # larger than the budget: never kept
    assert cache.get("huge") is None and cache.bytes == 800
    for key in "defg":
        cache.put(key, key, 1)
    assert len(cache) == 3 and cache.bytes == 3
    cache.put("g", "G", 10)  # replacing an entry re-counts it
    assert cache.bytes == 12


def test_gateway_cache_stays_within_its_byte_budget() -> None:
    budget = 2_000_000
    gateway = Gateway.from_supergraph_sdl(bench.supergraph_sdl("http://127.0.0.1:1"), cache_bytes=budget)
    for i in range(60):
        prepared = gateway.prepare(f"{{ a{i}: topProducts {{ upc name reviews {{ body }} }} }}", None)
        assert not prepared.errors
    cache = gateway.plan_cache
    assert 0 < cache.bytes <= budget
    assert len(cache) < 60  # evicted by bytes, long before the 2 x 1024 entries
    assert estimate_prepared_bytes(100, errors=1) < 2_000


def test_limit_settings_map_zero_to_off() -> None:
    settings = Settings.from_mapping({"max_depth": 0, "max_aliases": "7", "plan_cache_bytes": 1})
    limits = limits_from_settings(settings)
    assert limits.max_depth is None and limits.max_aliases == 7
    assert limits.max_tokens == DEFAULT_LIMITS.max_tokens
    stage = OperationLimitsStage(limits)
    deep = parse("{ a " + "{ a " * 40 + "}" * 41)
    assert stage.check(deep) == ()  # depth off
    (error,) = stage.check(parse("{ " + " ".join(f"x{i}: a" for i in range(8)) + " }"))
    assert error["extensions"] == {"code": MAX_ALIASES_LIMIT}
    assert "(8 > 7)" in error["message"]
    assert stage.refusals == {MAX_ALIASES_LIMIT: 1}


def test_a_large_refused_document_costs_the_cache_its_digest_not_its_text() -> None:
    gateway = Gateway.from_supergraph_sdl(bench.supergraph_sdl("http://127.0.0.1:1"))
    bomb = "{ " + " ".join(f"a{i}: __typename" for i in range(48_000)) + " }\ud800"  # 900 KB, a lone surrogate
    first = gateway.prepare(bomb, None)
    assert first.errors[0]["extensions"]["code"] == MAX_TOKENS_LIMIT
    assert gateway.plan_cache.bytes < 4_096
    assert gateway.prepare(bomb, None) is first  # answered from the cache, not parsed again
