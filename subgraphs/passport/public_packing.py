"""Public views packed for the cache: plain tuples of atomic values, definitions shared per template version.

The LRU keeps each view packed (:class:`Packer`): one plain tuple of strings, numbers, datetimes and
``None``, its PUBLIC values in another, and the field definitions as one tuple of such tuples shared by
every view of the same template version. A plain tuple of atomic values is untracked by Python's
cyclic garbage collector after the first young collection that sees it, so the cache adds nothing for
a full collection to walk however many views it holds (a view of 8 public fields held about 19 objects
for the collector before, its own ``PublicField`` s and ``FieldDefinition`` s); a hit unpacks it into
a :class:`~subgraphs.passport.domain.PublicView` that reference counting frees after the request.
"""

from __future__ import annotations

from typing import Any

from subgraphs.passport.content import FieldDefinition
from subgraphs.passport.domain import PublicField, PublicView

# One field definition as a plain tuple, in FieldDefinition's field order.
DefinitionAtoms = tuple[
    str, str, str, str, str, int, bool, str | None, float | None, float | None, str | None, tuple[str, ...]
]
# A packed view, flat: expiry (monotonic seconds), PublicView's scalars in order, the definitions, then the values.
Packed = tuple[Any, ...]
_SCALARS = (
    "uuid", "name", "status", "version", "published_at", "content_hash", "previous_hash", "revoked_at",
    "revocation_reason", "archived_at", "product_id", "template_id", "template_version",  # PublicView's order:
    "product_name", "product_category",  # its fields come between these two lines
)  # fmt: skip
_TEMPLATE_ID = 1 + _SCALARS.index("template_id")
_FIELDS = 1 + _SCALARS.index("product_name")  # where PublicView's fields go between the scalars
_DEFINITIONS = 1 + len(_SCALARS)  # index of the definitions in a packed view; the values follow
# Template versions whose definitions are kept for sharing; past it the table starts again (views keep theirs).
MAX_SHARED_TEMPLATES = 1024


def _atoms(definition: FieldDefinition) -> DefinitionAtoms:
    d = definition
    return (d.id, d.key, d.label, d.type, d.access, d.position, d.required, d.unit, d.min, d.max, d.pattern,
            tuple(d.enum_values))  # fmt: skip


class Packer:
    """Packs public views into plain tuples and back, sharing the definitions of each template version.

    ``shared``: template id -> (the definitions as atoms, as FieldDefinitions). A template version is
    immutable, so its passports' snapshots are equal; a view whose definitions differ from the shared
    ones (never seen in practice) keeps its own and is unpacked without sharing.
    """

    __slots__ = ("shared",)

    def __init__(self) -> None:
        self.shared: dict[str, tuple[tuple[DefinitionAtoms, ...], tuple[FieldDefinition, ...]]] = {}

    def pack(self, view: PublicView, expires: float) -> Packed:
        """``view`` as one tuple of atomic values (with its expiry first)."""
        definitions = tuple(f.definition for f in view.fields)
        atoms = tuple(_atoms(d) for d in definitions)
        known = self.shared.get(view.template_id)
        if known is not None and known[0] == atoms:
            atoms = known[0]  # the same tuple in every view of this template version
        elif known is None:
            if len(self.shared) >= MAX_SHARED_TEMPLATES:
                self.shared.clear()
            self.shared[view.template_id] = (atoms, definitions)
        values = [f.value for f in view.fields]
        return (expires, *(getattr(view, name) for name in _SCALARS), atoms, *values)

    def unpack(self, packed: Packed) -> PublicView:
        """The view :meth:`pack` packed."""
        atoms, values = packed[_DEFINITIONS], packed[_DEFINITIONS + 1 :]
        known = self.shared.get(packed[_TEMPLATE_ID])
        if known is not None and known[0] is atoms:
            definitions = known[1]
        else:
            definitions = tuple(FieldDefinition(*a) for a in atoms)
        fields = tuple(map(PublicField, definitions, values))
        return PublicView(*packed[1:_FIELDS], fields, *packed[_FIELDS:_DEFINITIONS])  # type: ignore[call-arg]
