"""The passport subgraph's GraphQL inputs: the passports filter, new passports and submitted values."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON

from subgraphs.passport.schema_types import PassportStatus


@strawberry.input(description="Which passports to list; every condition given must hold.")
class PassportFilter:
    """Conditions of the passports query."""

    status: PassportStatus | None = None
    product_id: strawberry.ID | None = None
    template_id: strawberry.ID | None = None
    name_contains: str | None = strawberry.field(default=None, description="Case-insensitive part of the name.")


@strawberry.input(description="A value for one field: the field key and a JSON value (null clears the field).")
class FieldValueInput:
    """One submitted value."""

    key: str
    value: JSON | None = None


@strawberry.input(description="A new passport: a product of your tenant and a PUBLISHED template of its category.")
class CreatePassportInput:
    """Arguments of createPassport."""

    name: str = strawberry.field(description="Matches ^[A-Z][A-Z0-9_]{2,49}$; unique in the tenant.")
    product_id: strawberry.ID
    template_id: strawberry.ID = strawberry.field(description="A Template id, i.e. one template version.")
    values: list[FieldValueInput] | None = None


def pairs(values: list[FieldValueInput] | None) -> list[tuple[str, Any]]:
    """Submitted values as (key, value) pairs, in the order given."""
    return [(v.key, v.value) for v in values or ()]
