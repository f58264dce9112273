"""What a template change asks for, checked before anything is read or written: the specs of a new
library field, a new template and changes to a draft, their limits, and the pure validation of each
(``BAD_USER_INPUT`` naming the first problem). :mod:`subgraphs.templates.domain` applies them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from subgraphs.common.errors import BadUserInput
from subgraphs.templates.models import FieldType

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
ID_PATTERN = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
NUMERIC_TYPES = frozenset({FieldType.NUMBER.value, FieldType.INTEGER.value})
PATTERN_TYPES = frozenset({FieldType.STRING.value, FieldType.TEXT.value, FieldType.URL.value})
MAX_KEY = 64
MAX_LABEL = 200
MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_UNIT = 32
MAX_PATTERN = 500
MAX_FIELDS = 200


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """What a new library field should be."""

    key: str
    label: str
    type: str
    access: str
    required: bool = False
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    enum_values: Sequence[str] | None = None


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    """What a new template (its first version) should be."""

    name: str
    category_id: str
    field_ids: Sequence[str]
    description: str = ""


@dataclass(frozen=True, slots=True)
class TemplateChanges:
    """Changes to a draft; ``None`` keeps the current value."""

    name: str | None = None
    description: str | None = None
    category_id: str | None = None
    field_ids: Sequence[str] | None = None


# -- validation (pure) ----------------------------------------------------------------------


def validate_field(spec: FieldSpec) -> FieldSpec:
    """The spec with text trimmed; ``BAD_USER_INPUT`` naming the first problem otherwise."""
    key = spec.key.strip()
    if not KEY_PATTERN.match(key) or len(key) > MAX_KEY:
        raise BadUserInput(
            f"key {spec.key!r} must be snake_case: lower-case letters and digits joined by single underscores, "
            f"starting with a letter, at most {MAX_KEY} characters",
            argument="key",
        )
    label = spec.label.strip()
    if not label or len(label) > MAX_LABEL:
        raise BadUserInput(f"label of field {key!r} must be 1 to {MAX_LABEL} characters", argument="label")
    kind = spec.type
    unit = spec.unit.strip() if spec.unit is not None else None
    if unit is not None:
        if kind not in NUMERIC_TYPES:
            raise BadUserInput(f"field {key!r}: a unit applies only to NUMBER and INTEGER fields", argument="unit")
        if not unit or len(unit) > MAX_UNIT:
            raise BadUserInput(f"field {key!r}: unit must be 1 to {MAX_UNIT} characters", argument="unit")
    if spec.min is not None or spec.max is not None:
        if kind not in NUMERIC_TYPES:
            raise BadUserInput(f"field {key!r}: min and max apply only to NUMBER and INTEGER fields", argument="min")
        if spec.min is not None and spec.max is not None and spec.min > spec.max:
            raise BadUserInput(f"field {key!r}: min {spec.min:g} is greater than max {spec.max:g}", argument="min")
        if kind == FieldType.INTEGER.value:
            for name, bound in (("min", spec.min), ("max", spec.max)):
                if bound is not None and not float(bound).is_integer():
                    raise BadUserInput(
                        f"field {key!r}: {name} {bound:g} must be a whole number for an INTEGER field", argument=name
                    )
    if spec.pattern is not None:
        if kind not in PATTERN_TYPES:
            raise BadUserInput(
                f"field {key!r}: a pattern applies only to STRING, TEXT and URL fields", argument="pattern"
            )
        if not spec.pattern or len(spec.pattern) > MAX_PATTERN:
            raise BadUserInput(f"field {key!r}: pattern must be 1 to {MAX_PATTERN} characters", argument="pattern")
        try:
            re.compile(spec.pattern)
        except re.error as exc:
            raise BadUserInput(
                f"field {key!r}: pattern {spec.pattern!r} is not a valid regular expression ({exc})",
                argument="pattern",
            ) from None
    values: list[str] | None = None
    if kind == FieldType.ENUM.value:
        values = [v.strip() for v in (spec.enum_values or ())]
        if not values or any(not v for v in values):
            raise BadUserInput(
                f"field {key!r}: an ENUM field needs at least one non-empty enum value", argument="enumValues"
            )
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise BadUserInput(
                f"field {key!r}: enum values must be unique; repeated: {', '.join(repeated)}", argument="enumValues"
            )
    elif spec.enum_values:
        raise BadUserInput(f"field {key!r}: enum values apply only to ENUM fields", argument="enumValues")
    return FieldSpec(
        key=key,
        label=label,
        type=kind,
        access=spec.access,
        required=spec.required,
        unit=unit,
        min=spec.min,
        max=spec.max,
        pattern=spec.pattern,
        enum_values=values,
    )


def clean_name(name: str) -> str:
    """A template name, trimmed; 1 to MAX_NAME characters."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_NAME:
        raise BadUserInput(f"name must be 1 to {MAX_NAME} characters", argument="name")
    return cleaned


def clean_description(description: str) -> str:
    """A template description, trimmed; at most MAX_DESCRIPTION characters."""
    cleaned = description.strip()
    if len(cleaned) > MAX_DESCRIPTION:
        raise BadUserInput(f"description must be at most {MAX_DESCRIPTION} characters", argument="description")
    return cleaned


def clean_category_id(category_id: str) -> str:
    """A category id, trimmed; shaped as an id (its existence is the catalog's business)."""
    cleaned = category_id.strip()
    if not ID_PATTERN.match(cleaned):
        raise BadUserInput(f"categoryId {category_id!r} is not a category id", argument="categoryId")
    return cleaned
