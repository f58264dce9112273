"""Views made without their dataclass ``__init__`` (schema_fields.made) are what the constructor makes.

``made`` takes the instance's whole state as a dict: a field left out would be missing, not defaulted.
Each use is compared with the constructor given the same values.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import strawberry

from subgraphs.passport.content import CONFIDENTIAL, PUBLIC, RESTRICTED, FieldDefinition
from subgraphs.passport.domain import PublicField, PublicView
from subgraphs.passport.models import Passport as PassportRow
from subgraphs.passport.schema_fields import FieldType, PassportField, PassportValue, field_base, field_with, value_list
from subgraphs.passport.schema_public import PublicPassport, PublicPassportField, PublicProduct
from subgraphs.passport.schema_types import Passport, PassportStatus
from subgraphs.passport.snapshots import Snapshot


def _state(instance: Any) -> tuple[type, dict[str, Any]]:
    """The instance's type and its whole state (every field the constructor sets, no more)."""
    return type(instance), vars(instance)


def test_field_views_are_what_the_constructor_makes() -> None:
    definition = FieldDefinition(id="f1", key="weight", label="Weight", type="NUMBER", access=PUBLIC, position=1)
    base = field_base(definition)
    weight: Any = 12.5
    for access in (PUBLIC, RESTRICTED, CONFIDENTIAL):
        made = field_with(base, access, weight)
        expected = PassportField(
            **base,
            value=weight if access == PUBLIC else None,
            restricted_value=weight if access == RESTRICTED else None,
            confidential_value=weight if access == CONFIDENTIAL else None,
        )
        assert _state(made) == _state(expected)


def test_values_are_what_the_constructor_makes() -> None:
    a: Any = [1]
    b: Any = 2
    made = value_list({"b": b, "a": a})
    assert [_state(v) for v in made] == [
        _state(PassportValue(key="a", value=a)),
        _state(PassportValue(key="b", value=b)),
    ]


def test_a_passport_view_is_what_the_constructor_makes() -> None:
    row = PassportRow(
        id="p-1",
        uuid="u-1",
        name="PACK",
        product_id="pr-1",
        template_id="t-1",
        template_version=2,
        category_id="c-1",
        tenant_id="tn-1",
        status="PUBLISHED",
        values={"weight": 1},
        template_fields=[],
        version=3,
        published_version=1,
        published_at=datetime(2026, 1, 2),  # naive, as SQLite answers: made UTC
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        updated_at=datetime(2026, 1, 3, tzinfo=UTC),
    )
    snapshot = Snapshot.of([])
    made = Passport.from_row(row, snapshot)
    expected = Passport(
        id=strawberry.ID("p-1"),
        uuid="u-1",
        name="PACK",
        status=PassportStatus.PUBLISHED,
        version=3,
        template_version=2,
        published_version=1,
        published_at=datetime(2026, 1, 2, tzinfo=UTC),
        content_hash=None,
        previous_hash=None,
        revoked_at=None,
        revocation_reason=None,
        archived_at=None,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        updated_at=datetime(2026, 1, 3, tzinfo=UTC),
        row=row,
        working_values={"weight": 1},
        definitions=[],
        snapshot=snapshot,
    )
    assert _state(made) == _state(expected)
    # A listing passes the values it decoded; a row without values reads as none.
    assert Passport.from_row(row, None, {"other": 2}).working_values == {"other": 2}
    assert Passport.from_row(row, None, None).working_values == {}


def test_a_public_view_is_what_the_constructor_makes() -> None:
    weight = FieldDefinition(id="f1", key="weight", label="Weight", type="NUMBER", access=PUBLIC, position=1, unit="kg")
    value: Any = 12.5
    view = PublicView(
        uuid="u-1",
        name="PACK",
        status="REVOKED",
        version=2,
        published_at=datetime(2026, 1, 2),  # naive, as SQLite answers: made UTC
        content_hash="h" * 64,
        previous_hash=None,
        revoked_at=datetime(2026, 1, 3, tzinfo=UTC),
        revocation_reason="Recall",
        archived_at=None,
        product_id="pr-1",
        template_id="t-1",
        template_version=4,
        fields=(PublicField(weight, value),),
        product_name="Cell",
        product_category="Batteries",
    )
    expected = PublicPassport(
        uuid="u-1",
        name="PACK",
        status=PassportStatus.REVOKED,
        version=2,
        published_at=datetime(2026, 1, 2, tzinfo=UTC),
        content_hash="h" * 64,
        previous_hash=None,
        revoked_at=datetime(2026, 1, 3, tzinfo=UTC),
        revocation_reason="Recall",
        archived_at=None,
        template_version=4,
        fields=[PublicPassportField(key="weight", label="Weight", type=FieldType.NUMBER, unit="kg", value=value)],
        product=PublicProduct(name="Cell", category="Batteries"),
        template_id="t-1",
    )
    made = PublicPassport.from_view(view)
    assert _state(made) == _state(expected)
    assert [_state(f) for f in made.fields] == [_state(f) for f in expected.fields]
    assert made.product is not None and expected.product is not None
    assert _state(made.product) == _state(expected.product)
    assert PublicPassport.from_view(replace(view, product_name=None)).product is None
