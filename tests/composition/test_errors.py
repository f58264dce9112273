"""Errors name Apollo's code, the subgraphs and the schema coordinate involved."""

from __future__ import annotations

from gateway.composition import CompositionError, SubgraphSource, compose

from .helpers import CASES_DIR, load_case

FED2 = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", '
    'import: ["@key", "@shareable", "@external", "@requires", "@provides"])\n'
)


def _errors(case: str) -> list[CompositionError]:
    result = compose(load_case(CASES_DIR / case).subgraphs)
    assert result.supergraph_sdl is None
    return result.errors


def test_invalid_field_sharing_names_subgraphs_and_coordinate() -> None:
    errors = _errors("err-invalid-field-sharing")
    assert [(e.code, e.subgraphs, e.coordinate) for e in errors] == [
        ("INVALID_FIELD_SHARING", ("a", "b"), "Money.amount"),
        ("INVALID_FIELD_SHARING", ("a", "b"), "Money.currency"),
    ]
    assert errors[0].message == (
        'Non-shareable field "Money.amount" is resolved from multiple subgraphs: it is resolved from '
        'subgraphs "a" and "b" and defined as non-shareable in all of them'
    )


def test_external_missing_on_base() -> None:
    [error] = _errors("err-external-missing-on-base")
    assert (error.code, error.subgraphs, error.coordinate) == ("EXTERNAL_MISSING_ON_BASE", ("a", "b"), "Product.weight")


def test_requires_fields_missing_external() -> None:
    [error] = _errors("err-requires-missing-external")
    assert (error.code, error.subgraphs, error.coordinate) == (
        "REQUIRES_FIELDS_MISSING_EXTERNAL",
        ("b",),
        "Product.shipping",
    )
    assert 'field "Product.weight" should not be part of a @requires' in error.message


def test_key_fields_select_invalid_type() -> None:
    [error] = _errors("err-key-invalid-type")
    assert (error.code, error.subgraphs, error.coordinate) == ("KEY_FIELDS_SELECT_INVALID_TYPE", ("a",), "Product")


def test_field_type_mismatch() -> None:
    [error] = _errors("err-field-type-mismatch")
    assert (error.code, error.coordinate) == ("FIELD_TYPE_MISMATCH", "Product.price")
    assert 'type "Int" in subgraph "a"' in error.message and 'type "[Int]" in subgraph "b"' in error.message


def test_empty_merged_enum() -> None:
    [error] = _errors("err-empty-merged-enum")
    assert (error.code, error.subgraphs, error.coordinate) == ("EMPTY_MERGED_ENUM_TYPE", ("a", "b"), "Kind")


def test_every_error_is_reported_not_only_the_first() -> None:
    sdl_a = FED2 + "type Query { a: Money x: Int }\ntype Money { amount: Int }\n"
    sdl_b = FED2 + "type Query { b: Money x: String }\ntype Money { amount: Int }\n"
    result = compose([SubgraphSource("a", "http://a", sdl_a), SubgraphSource("b", "http://b", sdl_b)])
    assert sorted((e.code, e.coordinate) for e in result.errors) == [
        ("FIELD_TYPE_MISMATCH", "Query.x"),
        ("INVALID_FIELD_SHARING", "Money.amount"),
        ("INVALID_FIELD_SHARING", "Query.x"),
    ]


def test_satisfiability_error_shows_the_failing_path() -> None:
    errors = _errors("err-unsatisfiable-value-type")
    assert [(e.code, e.coordinate) for e in errors] == [("SATISFIABILITY_ERROR", "Thing.b")]
    assert errors[0].message == (
        "The following supergraph API query:\n{\n  t {\n    b\n  }\n}\n"
        "cannot be satisfied by the subgraphs because:\n"
        '- from subgraph "a":\n'
        '  - cannot find field "Thing.b".\n'
        '  - cannot move to subgraph "b", which has field "Thing.b", because type "Thing" has no @key defined in '
        'subgraph "b".'
    )


def test_satisfiability_non_resolvable_keys() -> None:
    errors = _errors("err-unsatisfiable-non-resolvable")
    assert sorted(e.coordinate or "" for e in errors) == ["User.age", "User.email"]
    assert all(e.code == "SATISFIABILITY_ERROR" for e in errors)
    assert 'none of the @key defined on type "User" in subgraph "c" are resolvable' in errors[0].message


def test_unparsable_subgraph() -> None:
    [error] = _errors("err-invalid-graphql")
    assert (error.code, error.subgraphs) == ("INVALID_GRAPHQL", ("a",))


def test_duplicate_subgraph_names() -> None:
    sdl = FED2 + "type Query { a: Int }\n"
    result = compose([SubgraphSource("a", "http://a", sdl), SubgraphSource("a", "http://b", sdl)])
    assert [e.code for e in result.errors] == ["INVALID_SUBGRAPH_NAME"]


def test_interface_field_without_implementation_names_the_subgraphs() -> None:
    [error] = _errors("err-interface-field-no-implem")
    assert (error.code, error.coordinate) == ("INTERFACE_FIELD_NO_IMPLEM", "Dog.name")
    assert set(error.subgraphs) == {"a", "b"}


def test_referenced_inaccessible_names_the_subgraph() -> None:
    [error] = _errors("err-referenced-inaccessible")
    assert (error.code, error.subgraphs, error.coordinate) == ("REFERENCED_INACCESSIBLE", ("a",), "Query.secret")


def test_no_queries() -> None:
    sdl = FED2 + "type Mutation { ping: Int }\n"
    result = compose([SubgraphSource("a", "http://a", sdl)])
    assert [(e.code, e.subgraphs) for e in result.errors] == [("NO_QUERIES", ("a",))]
