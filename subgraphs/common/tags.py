"""``@tag`` names of the contract variants (``gateway compose --contract``, gateway/composition/contracts.py).

The partner variant is composed with ``--include partner --exclude internal``: a type tagged
``partner`` shows every field (tags on a type count for its fields) except those tagged
``internal``; a root field shows only when tagged ``partner``. Identity administration and the
audit logs carry no ``partner`` tag, and the audit logs say ``internal`` as well, so that a
contract that only excludes ``internal`` hides them too.
"""

from __future__ import annotations

from strawberry.federation.schema_directives import Tag

PARTNER = "partner"
INTERNAL = "internal"


def partner() -> list[object]:
    """The directives of an element partners see: ``@tag(name: "partner")``."""
    return [Tag(name=PARTNER)]


def internal() -> list[object]:
    """The directives of an element no contract variant shows: ``@tag(name: "internal")``."""
    return [Tag(name=INTERNAL)]
