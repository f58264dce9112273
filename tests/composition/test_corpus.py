"""The composition corpus: each case composed and checked against the reference composer's answer.

Expected outputs under ``cases/`` were produced by Apollo's reference composer (see
``cases/README.md``); these tests never run Node.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import print_schema

from gateway.composition import compose
from gateway.runtime import Gateway

from .helpers import all_cases, load_case, normalise_api, normalise_supergraph

CASES = all_cases()


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_case_matches_reference(path: Path) -> None:
    case = load_case(path)
    result = compose(case.subgraphs)
    if case.expected_errors is not None:
        assert result.supergraph_sdl is None
        assert sorted({e.code for e in result.errors}) == case.expected_errors, [str(e) for e in result.errors]
        return
    assert result.errors == [], [str(e) for e in result.errors]
    assert result.supergraph_sdl is not None
    # the schema `gateway serve` serves for the composed supergraph, compared with the reference's
    api = print_schema(Gateway.from_supergraph_sdl(result.supergraph_sdl).api_schema)
    assert case.expected_api is not None
    assert normalise_api(api) == normalise_api(case.expected_api)
    if case.expected_supergraph is not None:
        assert normalise_supergraph(result.supergraph_sdl) == normalise_supergraph(case.expected_supergraph)


def test_corpus_is_not_empty() -> None:
    valid = [p for p in CASES if (p / "expected-api.graphql").exists()]
    invalid = [p for p in CASES if (p / "expected-errors.txt").exists()]
    assert len(valid) >= 25 and len(invalid) >= 20
