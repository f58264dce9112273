"""Pure rules about a passport's content: field definitions, value validation, canonical hashing.

Nothing here touches the database or the network, so the rules are easy to read and test.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

FIELD_TYPES: tuple[str, ...] = ("STRING", "TEXT", "NUMBER", "INTEGER", "BOOLEAN", "DATE", "URL", "ENUM")
ACCESS_LEVELS: tuple[str, ...] = ("PUBLIC", "RESTRICTED", "CONFIDENTIAL")
PUBLIC = "PUBLIC"
RESTRICTED = "RESTRICTED"
CONFIDENTIAL = "CONFIDENTIAL"
NAME_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{2,49}$")
MAX_STRING = 255
MAX_TEXT = 10_000
MAX_URL = 2048
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class FieldDefinition:
    """One field of the template version a passport was created from (the snapshot)."""

    id: str
    key: str
    label: str
    type: str
    access: str
    position: int
    required: bool = False
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    enum_values: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """The snapshot form stored on the passport row."""
        data = asdict(self)
        data["enum_values"] = list(self.enum_values)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FieldDefinition:
        """Read a stored snapshot entry."""
        return cls(
            id=str(data["id"]),
            key=str(data["key"]),
            label=str(data["label"]),
            type=str(data["type"]),
            access=str(data["access"]),
            position=int(data["position"]),
            required=bool(data.get("required", False)),
            unit=data.get("unit"),
            min=data.get("min"),
            max=data.get("max"),
            pattern=data.get("pattern"),
            enum_values=tuple(data.get("enum_values") or ()),
        )


def snapshot_to_json(fields: Iterable[FieldDefinition]) -> list[dict[str, Any]]:
    """The JSON list stored in ``Passport.template_fields``, in template order."""
    return [f.to_json() for f in sorted(fields, key=lambda f: f.position)]


def snapshot_from_json(data: Sequence[Mapping[str, Any]] | None) -> list[FieldDefinition]:
    """The field definitions of a stored snapshot, in template order."""
    return sorted((FieldDefinition.from_json(item) for item in data or ()), key=lambda f: f.position)


@dataclass(frozen=True, slots=True)
class FieldError:
    """Why one submitted value was refused."""

    key: str
    message: str


def _number(value: Any) -> float | int | None:
    # bool is an int subclass in Python, but true is not a number to a user.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    # One canonical form per number: 50.0 and 50 must hash alike.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _check_bounds(definition: FieldDefinition, value: float | int) -> str | None:
    if definition.min is not None and value < definition.min:
        return f"must be at least {_fmt(definition.min)}"
    if definition.max is not None and value > definition.max:
        return f"must be at most {_fmt(definition.max)}"
    return None


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _check_text(definition: FieldDefinition, value: Any, limit: int) -> tuple[Any, str | None]:
    if not isinstance(value, str):
        return None, "must be a string"
    if not value.strip():
        return None, "must not be blank (send null to clear the field)"
    if len(value) > limit:
        return None, f"must be at most {limit} characters"
    if definition.pattern and re.fullmatch(definition.pattern, value) is None:
        return None, f"must match the pattern {definition.pattern}"
    return value, None


def normalise_value(definition: FieldDefinition, value: Any) -> tuple[Any, str | None]:
    """``(canonical value, None)`` when ``value`` suits ``definition``, else ``(None, reason)``.

    NUMBER and INTEGER honour ``min``/``max``; STRING and TEXT honour ``pattern``;
    ENUM must be one of ``enum_values``; DATE is ISO ``yyyy-mm-dd``; URL is http(s).
    """
    kind = definition.type
    if kind == "STRING":
        return _check_text(definition, value, MAX_STRING)
    if kind == "TEXT":
        return _check_text(definition, value, MAX_TEXT)
    if kind in ("NUMBER", "INTEGER"):
        number = _number(value)
        if number is None:
            return None, "must be a number" if kind == "NUMBER" else "must be an integer"
        if kind == "INTEGER" and not isinstance(number, int):
            return None, "must be an integer"
        problem = _check_bounds(definition, number)
        return (None, problem) if problem else (number, None)
    if kind == "BOOLEAN":
        return (value, None) if isinstance(value, bool) else (None, "must be true or false")
    if kind == "DATE":
        if not isinstance(value, str) or not _DATE.match(value):
            return None, "must be a date as yyyy-mm-dd"
        try:
            date.fromisoformat(value)
        except ValueError:
            return None, f"{value!r} is not a calendar date"
        return value, None
    if kind == "URL":
        if not isinstance(value, str) or len(value) > MAX_URL:
            return None, "must be an http(s) URL"
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return None, "must be an http(s) URL"
        return value, None
    if kind == "ENUM":
        if not isinstance(value, str) or value not in definition.enum_values:
            return None, f"must be one of {', '.join(definition.enum_values)}"
        return value, None
    return None, f"has an unknown field type {kind}"


def apply_values(
    fields: Sequence[FieldDefinition], current: Mapping[str, Any], submitted: Sequence[tuple[str, Any]]
) -> tuple[dict[str, Any], list[FieldError]]:
    """Merge ``submitted`` (key, value) pairs into ``current``; ``None`` clears a field.

    Returns the new values and every problem found (all of them, not just the first),
    so a user can fix a whole form at once.
    """
    by_key = {f.key: f for f in fields}
    values = dict(current)
    errors: list[FieldError] = []
    seen: set[str] = set()
    for key, raw in submitted:
        if key in seen:
            errors.append(FieldError(key, "is given more than once"))
            continue
        seen.add(key)
        definition = by_key.get(key)
        if definition is None:
            errors.append(FieldError(key, "is not a field of this passport's template"))
            continue
        if raw is None:
            values.pop(key, None)
            continue
        value, problem = normalise_value(definition, raw)
        if problem:
            errors.append(FieldError(key, problem))
        else:
            values[key] = value
    return values, errors


def missing_required(fields: Sequence[FieldDefinition], values: Mapping[str, Any]) -> list[str]:
    """Keys of required fields without a value, in template order."""
    return [f.key for f in fields if f.required and values.get(f.key) is None]


def values_by_access(fields: Sequence[FieldDefinition], values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``values`` split by the access level of their field: ``{"PUBLIC": {...}, "RESTRICTED": {...}, ...}``.

    A key without a definition counts as CONFIDENTIAL (the most guarded level), so a
    value can never fall into a more open level than its field's.
    """
    return split_by_access({f.key: f.access for f in fields}, values)


def split_by_access(access: Mapping[str, str], values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """:func:`values_by_access` with the fields' access levels by key given (``{key: level}``)."""
    split: dict[str, dict[str, Any]] = {level: {} for level in ACCESS_LEVELS}
    for key, value in values.items():
        level = access.get(key, CONFIDENTIAL)
        split[level if level in split else CONFIDENTIAL][key] = value
    return split


def public_values(fields: Sequence[FieldDefinition], values: Mapping[str, Any]) -> dict[str, Any]:
    """Only the values of PUBLIC fields."""
    public = {f.key for f in fields if f.access == PUBLIC}
    return {key: value for key, value in values.items() if key in public}


def canonical_json(document: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 characters kept as they are, no NaN: one text per content.

    Values reach it normalised by :func:`normalise_value`, which writes integral numbers
    without a fraction (50.0 -> 50) as RFC 8785 (JCS) does, so equal numbers hash alike.
    """
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_hex(text: str) -> str:
    """Lower-case hex SHA-256 of ``text`` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class VersionContent:
    """What a published version's hash covers, previous hash included (that makes it a chain)."""

    passport_id: str
    uuid: str
    name: str
    product_id: str
    template_id: str
    version: int
    values: Mapping[str, Any]
    previous_hash: str | None

    def document(self) -> dict[str, Any]:
        """The JSON document that is hashed."""
        return {
            "passportId": self.passport_id,
            "uuid": self.uuid,
            "name": self.name,
            "productId": self.product_id,
            "templateId": self.template_id,
            "version": self.version,
            "values": dict(self.values),
            "previousHash": self.previous_hash,
        }

    def canonical(self) -> str:
        """The canonical text that is stored and hashed."""
        return canonical_json(self.document())


def hashed_values(content: str) -> dict[str, Any]:
    """The values inside a stored version's hashed text.

    Readers are served these, not a separate copy, so what anyone reads of a published
    version is exactly what its hash (and ``hashChainValid``) vouches for.
    """
    return dict(json.loads(content).get("values") or {})


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """What the chain check needs from one stored version."""

    number: int
    content: str
    content_hash: str
    previous_hash: str | None


def chain_is_valid(passport_id: str, versions: Sequence[StoredVersion], head_hash: str | None) -> bool:
    """Recompute every version's hash and its link to the one before.

    True when each stored text hashes to its stored hash, names this passport, its own
    number and the previous version's hash, numbers run 1..n, and the passport's current
    ``contentHash`` is the last link. A passport never published has an empty, valid chain.
    """
    previous: str | None = None
    for expected_number, version in enumerate(sorted(versions, key=lambda v: v.number), start=1):
        if version.number != expected_number or sha256_hex(version.content) != version.content_hash:
            return False
        try:
            document = json.loads(version.content)
        except ValueError:
            return False
        if (
            document.get("passportId") != passport_id
            or document.get("version") != version.number
            or document.get("previousHash") != previous
            or version.previous_hash != previous
        ):
            return False
        previous = version.content_hash
    return previous == head_hash
