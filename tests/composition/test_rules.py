"""The rare subgraph rules say what the reference composer says (messages copied from @apollo/composition 2.14.4).

The corpus (``cases/err-*``) checks the codes; these check the wording on the same cases.
"""

from __future__ import annotations

import pytest

from gateway.composition import compose

from .helpers import CASES_DIR, load_case

EXPECTED = {
    "err-cost-on-interface-field": ['[a] @cost cannot be applied to interface "Item.id"'],
    "err-directive-definition-invalid": [
        '[a] Invalid definition for directive "@tag": argument "name" should have type "String!" but found type "Int!"'
    ],
    "err-directive-definition-locations": [
        '[a] Invalid definition for directive "@shareable": "@shareable" should have locations OBJECT, '
        "FIELD_DEFINITION, but found (non-subset) OBJECT, FIELD_DEFINITION, INTERFACE"
    ],
    "err-list-size-negative": ['[a] Assumed size of "Query.items" cannot be negative'],
    "err-list-size-non-list": ['[a] "Query.count" is not a list'],
    "err-list-size-sized-field": [
        '[a] Sized field "Page.total" is not a list',
        '[a] Sized field "missing" is not a field on type "Page"',
        '[a] Sized fields cannot be used because "Int" is not a composite type',
    ],
    "err-list-size-slicing-argument": [
        '[a] Slicing argument "last" is not an argument of "Query.items"',
        '[a] Slicing argument "Query.items(after:)" must be Int or Int!',
    ],
    "err-root-query-used": [
        '[a] The schema has a type named "Query" but it is not set as the query root type ("RootQuery" is '
        "instead): this is not supported by federation. If a root type does not use its default name, there "
        "should be no other type with that default name."
    ],
    "err-shareable-duplicated": [
        '[a] Invalid duplicate application of @shareable on field "Book.name": @shareable is only repeatable on '
        "types so it can be used simultaneously on a type definition and its extensions, but it should not be "
        "duplicated on the same definition/extension declaration"
    ],
    "err-shareable-on-interface-field": [
        '[a] Invalid use of @shareable on field "Item.name": only object type fields can be marked with @shareable'
    ],
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_messages_match_the_reference(case: str) -> None:
    result = compose(load_case(CASES_DIR / case).subgraphs)
    assert sorted(e.message for e in result.errors) == sorted(EXPECTED[case])
