"""The public-view cache keeps views packed: nothing for the garbage collector, definitions shared.

A full collection walks every GC-tracked object of the old generation; the cache used to add about 15
per view (its ``PublicField`` s and ``FieldDefinition`` s), 30,000 at 2,000 views. Packed views are plain
tuples of atomic values, which the collector stops tracking at the first young collection that sees them.
"""

from __future__ import annotations

import asyncio
import gc
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from subgraphs.passport.content import FieldDefinition
from subgraphs.passport.domain import PublicField, PublicView
from subgraphs.passport.public_cache import Packer, PublicViewCache

WEIGHT = FieldDefinition(id="f1", key="weight", label="Weight", type="NUMBER", access="PUBLIC", position=1, unit="kg")
COLOUR = FieldDefinition(
    id="f2", key="colour", label="Colour", type="ENUM", access="PUBLIC", position=2, enum_values=("RED", "BLUE")
)


def _view(
    uuid: str, *, template_id: str = "t-1", fields: tuple[PublicField, ...] | None = None, **changes: Any
) -> PublicView:
    view = PublicView(
        uuid=uuid,
        name=f"PACK_{uuid}",
        status="PUBLISHED",
        version=2,
        published_at=datetime(2026, 1, 1, tzinfo=UTC),
        content_hash="h" * 64,
        previous_hash="g" * 64,
        revoked_at=None,
        revocation_reason=None,
        archived_at=None,
        product_id="p-1",
        template_id=template_id,
        template_version=3,
        fields=fields if fields is not None else (PublicField(WEIGHT, 12.5), PublicField(COLOUR, None)),
        product_name="Cell",
        product_category=None,
    )
    return replace(view, **changes)


def _tracked(value: Any) -> list[Any]:
    """``value`` and everything in it that the collector still tracks."""
    found = [value] if gc.is_tracked(value) else []
    if isinstance(value, tuple):
        for item in value:
            found += _tracked(item)
    return found


def test_a_packed_view_unpacks_to_the_same_view() -> None:
    packer = Packer()
    revoked = _view("u-2", status="REVOKED", revoked_at=datetime(2026, 2, 1, tzinfo=UTC), revocation_reason="Recall")
    for view in (_view("u-1"), revoked, _view("u-3", fields=()), _view("u-4", product_name=None)):
        assert packer.unpack(packer.pack(view, 1.0)) == view


def test_packed_views_are_not_tracked_by_the_garbage_collector() -> None:
    packer = Packer()
    first = packer.pack(_view("u-0"), 1.0)
    for _ in range(3):  # the shared definitions are nested tuples: a collection per level
        gc.collect()
    # A view is flat around its template version's definitions: one young collection untracks it.
    packed = [packer.pack(_view(f"u-{i}"), 1.0) for i in range(1, 100)]
    gc.collect(0)
    assert [_tracked(p) for p in (first, *packed)] == [[]] * 100


def test_views_of_one_template_version_share_their_definitions() -> None:
    packer = Packer()
    first, second = (packer.pack(_view(uuid), 1.0) for uuid in ("u-1", "u-2"))
    assert first[-3] is second[-3]  # one tuple of definitions (the two values follow)
    assert packer.unpack(first).fields[0].definition is packer.unpack(second).fields[0].definition
    # Another template version has its own; a snapshot that differs from its version's is kept as it is.
    other = packer.pack(_view("u-3", template_id="t-2", fields=(PublicField(COLOUR, "RED"),)), 1.0)
    odd = _view("u-4", fields=(PublicField(replace(WEIGHT, label="Mass"), 1),))
    assert packer.unpack(other).fields == (PublicField(COLOUR, "RED"),)
    assert packer.unpack(packer.pack(odd, 1.0)) == odd
    assert packer.unpack(first) == _view("u-1")


def test_the_cache_serves_the_view_it_loaded() -> None:
    async def run() -> list[PublicView]:
        cache = PublicViewCache(10, 60)
        loads: list[str] = []

        async def load() -> PublicView:
            loads.append("u-1")
            return _view("u-1")

        try:
            views = [await cache.get("u-1", load) for _ in range(3)]
        finally:
            await cache.aclose()
        assert (loads, cache.hits, cache.misses) == (["u-1"], 2, 1)
        return views

    assert asyncio.run(run()) == [_view("u-1")] * 3
