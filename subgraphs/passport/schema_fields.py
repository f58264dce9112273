"""A passport's fields and values as GraphQL sees them, and who may read each access level.

Owns the ``FieldType`` and ``AccessLevel`` enums, ``PassportValue`` and ``PassportField``, the
directives that guard values above PUBLIC (``READ_RESTRICTED``, ``READ_CONFIDENTIAL``, ``READ_ALL``;
the rules are in :mod:`subgraphs.passport.schema`'s docstring), and the helpers that make the field
views (once per template snapshot and request) for :mod:`subgraphs.passport.schema_types`.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, TypeVar

import strawberry
from strawberry.scalars import JSON

from subgraphs.common.authz import policy, requires_scopes
from subgraphs.common.tags import partner
from subgraphs.passport.content import (
    CONFIDENTIAL,
    PUBLIC,
    RESTRICTED,
    FieldDefinition,
)
from subgraphs.passport.snapshots import Snapshot

T = TypeVar("T")

# Who may read values above PUBLIC (see subgraphs.passport.schema's docstring).
READ_RESTRICTED = requires_scopes("passport:restricted", "passport:write")
READ_CONFIDENTIAL = policy("passport.confidential:read")
READ_ALL = READ_RESTRICTED + READ_CONFIDENTIAL


# Same names, values and descriptions as the templates subgraph's enums, so the
# supergraph has one FieldType and one AccessLevel.
@strawberry.enum(description="Value type of a template field.")
class FieldType(Enum):
    STRING = "STRING"
    TEXT = "TEXT"
    NUMBER = "NUMBER"
    INTEGER = "INTEGER"
    BOOLEAN = "BOOLEAN"
    DATE = "DATE"
    URL = "URL"
    ENUM = "ENUM"


@strawberry.enum(description="Who may read a field's value on a passport.")
class AccessLevel(Enum):
    PUBLIC = "PUBLIC"
    RESTRICTED = "RESTRICTED"
    CONFIDENTIAL = "CONFIDENTIAL"


@strawberry.type(directives=partner(), description="One value of a passport: the field key and its JSON value.")
class PassportValue:
    """A field key with its value."""

    key: str
    value: JSON


@strawberry.type(
    directives=partner(), description="A field of the passport's template version (snapshot) with the passport's value."
)
class PassportField:
    """Definition and current value of one field."""

    field_id: strawberry.ID = strawberry.field(description="The TemplateField id in the templates subgraph.")
    key: str
    label: str
    type: FieldType
    access: AccessLevel
    unit: str | None
    required: bool
    min: float | None
    max: float | None
    pattern: str | None
    enum_values: list[str] | None
    position: int
    # Plain data, set by field_view for the field's own access level only: a listing completes one per
    # field of every passport, and Strawberry's resolver path cost several times a data field's.
    value: JSON | None = strawberry.field(
        default=None, description="The value of a PUBLIC field; null while unset and for the other access levels."
    )
    restricted_value: JSON | None = strawberry.field(
        default=None,
        directives=READ_RESTRICTED,
        description="The value of a RESTRICTED field (scope passport:restricted or passport:write); "
        "null while unset and for the other access levels.",
    )
    confidential_value: JSON | None = strawberry.field(
        default=None,
        directives=READ_CONFIDENTIAL,
        description="The value of a CONFIDENTIAL field (policy passport.confidential:read); "
        "null while unset and for the other access levels.",
    )


def made(cls: type[T], state: dict[str, Any]) -> T:
    """An instance of the Strawberry type ``cls`` whose state is ``state``, which names every field.

    What ``cls(**state)`` makes, without the dataclass ``__init__``: a dashboard page makes about
    900 of these (50 passports, each with its fields and values), and the generated ``__init__``
    with its defaults cost 2-3 times the dict (tests/subgraphs/passport/test_made_views.py checks
    each use against the constructor).
    """
    instance = object.__new__(cls)
    instance.__dict__ = state
    return instance


def value_list(values: dict[str, Any]) -> list[PassportValue]:
    """The values as ``PassportValue`` s, by key."""
    return [made(PassportValue, {"key": k, "value": v}) for k, v in sorted(values.items())]


def field_base(definition: FieldDefinition) -> dict[str, Any]:
    """A field's view without its value (the same for every passport of a template version)."""
    return {
        "field_id": strawberry.ID(definition.id),
        "key": definition.key,
        "label": definition.label,
        "type": FieldType(definition.type),
        "access": AccessLevel(definition.access),
        "unit": definition.unit,
        "required": definition.required,
        "min": definition.min,
        "max": definition.max,
        "pattern": definition.pattern,
        "enum_values": list(definition.enum_values) if definition.type == "ENUM" else None,
        "position": definition.position,
    }


def field_with(base: dict[str, Any], access: str, value: Any) -> PassportField:
    """A field's view (from :func:`field_base`) with ``value`` in the slot of its access level."""
    return made(
        PassportField,
        {
            **base,
            "value": value if access == PUBLIC else None,
            "restricted_value": value if access == RESTRICTED else None,
            "confidential_value": value if access == CONFIDENTIAL else None,
        },
    )


def field_view(definition: FieldDefinition, value: Any) -> PassportField:
    """A field's view with its value."""
    return field_with(field_base(definition), definition.access, value)


FieldBases = list[tuple[str, str, dict[str, Any]]]  # per definition: key, access level, field_base


def field_bases(snapshot: Snapshot) -> FieldBases:
    """The fields' views without values, made once per snapshot and request (kept on the snapshot)."""
    bases: FieldBases | None = snapshot.derived.get("fields")
    if bases is None:
        bases = snapshot.derived["fields"] = [(d.key, d.access, field_base(d)) for d in snapshot.definitions]
    return bases
