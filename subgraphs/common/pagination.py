"""Cursor connections (Relay style) with ``totalCount``.

Cursors are opaque to clients: base64 of the offset. Offsets are simple and
stable enough for the catalog sizes here; a keyset cursor can replace them
behind the same surface.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Generic, TypeVar

import strawberry
from strawberry.federation.schema_directives import ListSize

from subgraphs.common.errors import BadUserInput
from subgraphs.common.tags import PARTNER, partner

T = TypeVar("T")
MAX_PAGE = 200
DEFAULT_PAGE = 20


# Every subgraph serves PageInfo, so Federation v2 composition needs it @shareable.
# Connections are tagged for the partner contract; one reached only from hidden fields goes with them.
@strawberry.federation.type(shareable=True, tags=[PARTNER])
class PageInfo:
    """Where this page sits in the whole list."""

    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(directives=partner())
class Edge(Generic[T]):
    """One item and its cursor."""

    node: T
    cursor: str


@strawberry.type(directives=partner())
class Connection(Generic[T]):
    """A page of items with the total count of the filtered list."""

    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int

    @strawberry.field
    def nodes(self) -> list[T]:
        """The items of this page without their cursors."""
        return [edge.node for edge in self.edges]


def page_size() -> ListSize:
    """``@listSize`` of a connection field: ``first`` sizes its ``edges`` and ``nodes`` (demand control),
    the default page when it is not given."""
    return ListSize(
        assumed_size=DEFAULT_PAGE,
        slicing_arguments=["first"],
        sized_fields=["edges", "nodes"],
        require_one_slicing_argument=False,
    )


def encode_cursor(offset: int) -> str:
    """The opaque cursor of position ``offset``."""
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    """The position a cursor names; ``BAD_USER_INPUT`` for anything we did not issue."""
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind != "o":
            raise ValueError(kind)
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise BadUserInput(f"Invalid cursor {cursor!r}", argument="after") from None


def page_window(first: int | None, after: str | None) -> tuple[int, int]:
    """``(offset, limit)`` for a ``first``/``after`` request, with limits enforced."""
    limit = DEFAULT_PAGE if first is None else first
    if limit < 0 or limit > MAX_PAGE:
        raise BadUserInput(f"first must be between 0 and {MAX_PAGE}", argument="first")
    offset = decode_cursor(after) + 1 if after else 0
    return offset, limit


def build_connection(items: Sequence[T], *, offset: int, total: int) -> Connection[T]:
    """A connection over ``items``, the page that starts at ``offset`` of ``total``."""
    edges = [Edge(node=item, cursor=encode_cursor(offset + i)) for i, item in enumerate(items)]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=offset + len(items) < total,
            has_previous_page=offset > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=total,
    )
