"""Per-request dataloaders: every relation and entity lookup is one batched query.

A :class:`Loaders` registry lives on the request context; loaders are created on
first use and share the request's session, so tenant scoping applies to them too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from aiodataloader import DataLoader
from sqlmodel.ext.asyncio.session import AsyncSession

M = TypeVar("M")


class Loaders:
    """Get-or-create registry of the dataloaders of one request."""

    def __init__(self) -> None:
        self._loaders: dict[Hashable, DataLoader] = {}

    def get(self, key: Hashable, factory: Callable[[], DataLoader]) -> DataLoader:
        """The loader registered under ``key``, creating it with ``factory`` on first use."""
        loader = self._loaders.get(key)
        if loader is None:
            loader = self._loaders[key] = factory()
        return loader

    def clear(self) -> None:
        """Forget every cached value (after a mutation changed the data)."""
        self._loaders.clear()


def _unique(keys: Sequence[Any]) -> list[Any]:
    return list(dict.fromkeys(keys))


def rows_by_column(
    session: AsyncSession,
    model: type[M],
    column: Any,
    *,
    where: Sequence[Any] = (),
    public_read: bool = False,
) -> DataLoader:
    """Loads one row (or ``None``) per key, where ``column`` equals the key."""

    async def batch(keys: Sequence[Any]) -> list[M | None]:
        stmt = sa.select(model).where(column.in_(_unique(keys)), *where)
        if public_read:
            stmt = stmt.execution_options(public_read=True)
        rows = (await session.exec(stmt)).scalars().all()  # type: ignore[call-overload]
        by_key = {getattr(row, column.key): row for row in rows}
        return [by_key.get(key) for key in keys]

    return DataLoader(batch_load_fn=batch)


def rows_grouped_by(
    session: AsyncSession,
    model: type[M],
    column: Any,
    *,
    order_by: Sequence[Any] = (),
    where: Sequence[Any] = (),
) -> DataLoader:
    """Loads the list of rows per key, where ``column`` equals the key, in ``order_by`` order."""

    async def batch(keys: Sequence[Any]) -> list[list[M]]:
        stmt = sa.select(model).where(column.in_(_unique(keys)), *where).order_by(*order_by)
        rows = (await session.exec(stmt)).scalars().all()  # type: ignore[call-overload]
        grouped: dict[Any, list[M]] = defaultdict(list)
        for row in rows:
            grouped[getattr(row, column.key)].append(row)
        return [grouped.get(key, []) for key in keys]

    return DataLoader(batch_load_fn=batch)


def counts_grouped_by(session: AsyncSession, model: type[Any], column: Any, *, where: Sequence[Any] = ()) -> DataLoader:
    """Loads ``count(*)`` per key, where ``column`` equals the key (0 when none)."""

    async def batch(keys: Sequence[Any]) -> list[int]:
        stmt = (
            sa.select(column, sa.func.count())
            .select_from(model)
            .where(column.in_(_unique(keys)), *where)
            .group_by(column)
        )
        counts = dict((await session.exec(stmt)).all())  # type: ignore[call-overload]
        return [int(counts.get(key, 0)) for key in keys]

    return DataLoader(batch_load_fn=batch)

