"""The template snapshots one request reads, each parsed once however many passports share it.

A passport keeps the field definitions of its template version (``template_fields``, a JSON
snapshot taken at creation). A dashboard page of 50 passports holds 50 copies of a few distinct
snapshots (one per template version), each 2-3 KB: decoding and parsing each copy cost more than
the rest of the passport's answer. A listing reads the snapshot as text
(:func:`subgraphs.passport.repository.list_passports`) and asks :meth:`Snapshots.from_text`, which
decodes each distinct text once per request; a row loaded whole (``passport(id)``, entities, a
product's passports) asks :meth:`Snapshots.of_row`, which reuses the snapshot of its template
version only when the stored lists are equal. Whatever is derived from the definitions once (the
GraphQL views of the fields, see ``subgraphs.passport.schema_fields``) is kept on the :class:`Snapshot`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from subgraphs.passport.content import FieldDefinition, snapshot_from_json
from subgraphs.passport.models import Passport

__all__ = ["Snapshot", "Snapshots", "snapshots_of"]

_EXTRA_KEY = "passport.snapshots"  # RequestContext.extra: this request's Snapshots


@dataclass(slots=True)
class Snapshot:
    """One stored snapshot: as decoded, its definitions in template order, and what views derive from it."""

    stored: Any
    definitions: list[FieldDefinition]
    access: dict[str, str]  # field key -> access level
    derived: dict[str, Any] = field(default_factory=dict)  # per use (e.g. "fields": the fields' GraphQL views)

    @classmethod
    def of(cls, stored: Any) -> Snapshot:
        """The snapshot of a decoded ``template_fields`` value."""
        definitions = snapshot_from_json(stored)
        return cls(stored, definitions, {d.key: d.access for d in definitions})


class Snapshots:
    """This request's snapshots, by stored text and by template version (see the module docstring)."""

    __slots__ = ("_by_template", "_by_text")

    def __init__(self) -> None:
        self._by_text: dict[str, Snapshot] = {}
        self._by_template: dict[str, Snapshot] = {}

    def from_text(self, text: Any) -> Snapshot:
        """The snapshot stored as ``text`` (a JSON text; a decoded value is taken as it is)."""
        if not isinstance(text, str):
            return Snapshot.of(text)
        known = self._by_text.get(text)
        if known is None:
            known = self._by_text[text] = Snapshot.of(json.loads(text))
        return known

    def of_row(self, row: Passport) -> Snapshot:
        """The snapshot of a passport row loaded whole: shared with its template version's when equal."""
        stored = row.template_fields
        known = self._by_template.get(row.template_id)
        if known is not None and known.stored == stored:
            return known
        snapshot = Snapshot.of(stored)
        self._by_template.setdefault(row.template_id, snapshot)
        return snapshot


def snapshots_of(extra: dict[str, Any]) -> Snapshots:
    """The request's :class:`Snapshots` (kept in ``RequestContext.extra``)."""
    snapshots = extra.get(_EXTRA_KEY)
    if snapshots is None:
        snapshots = extra[_EXTRA_KEY] = Snapshots()
    return snapshots  # type: ignore[no-any-return]
