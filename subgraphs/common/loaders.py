"""Per-request dataloaders: every relation and entity lookup is one batched query.

A :class:`Loaders` registry lives on the request context; loaders are created on
first use and share the request's session, so tenant scoping applies to them too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
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
) -> DataLoader:
    """Loads one row (or ``None``) per key, where ``column`` equals the key."""

    async def batch(keys: Sequence[Any]) -> list[M | None]:
        stmt = sa.select(model).where(column.in_(_unique(keys)), *where)
        rows = (await session.exec(stmt)).scalars().all()  # type: ignore[call-overload]
        by_key = {getattr(row, column.key): row for row in rows}
        return [by_key.get(key) for key in keys]

    return DataLoader(batch_load_fn=batch)


def columns_of(model: type[Any]) -> list[Any]:
    """Every mapped column attribute of ``model``: selected, they give plain rows keyed by attribute name."""
    return [getattr(model, key) for key in sa.inspect(model).column_attrs.keys()]


class ObjectLoader(DataLoader):
    """A dataloader of objects built from rows that are only read (see :func:`objects_by_column`).

    :meth:`get` hands out what a batch already answered as a plain value: a resolver that
    returns a value is completed at once, where one that returns an awaitable costs a
    coroutine and a round of the event loop per item (the category of each product of a
    page, when the page's categories are already loaded).
    """

    def __init__(self, batch: Callable[[Sequence[Any]], Awaitable[dict[Any, Any]]]) -> None:
        answered: dict[Any, Any] = {}
        self.answered = answered

        # A closure over the dict, not a bound method of the loader: the loader holding its own
        # method would be a reference cycle per loader and request, left to the cyclic collector.
        async def load_batch(keys: Sequence[Any]) -> list[Any]:
            found = await batch(_unique(keys))
            answers = [found.get(key) for key in keys]
            answered.update(zip(keys, answers, strict=True))
            return answers

        super().__init__(batch_load_fn=load_batch)

    def answer(self, key: Any, value: Any) -> None:
        """Hold ``value`` for ``key`` as if a batch had answered it (another loader's statement read it)."""
        if key not in self.answered:
            self.answered[key] = value
            self.prime(key, value)

    def get(self, key: Any) -> Any:
        """The object (or ``None``) for ``key`` when a batch answered it already, else the awaitable of it."""
        answered = self.answered
        if key in answered:
            return answered[key]
        return self.load(key)


KEYS = "keys"  # the expanding parameter of a keyed_select(): the keys of one batch


def keyed_select(model: type[Any], column: Any, *where: Any) -> sa.Select[Any]:
    """``SELECT <model's columns> WHERE column IN (:keys) AND where...``, built once, run with ``{KEYS: [...]}``.

    The model's columns are selected rather than the model: each row comes back as a plain row
    (attributes named as the model's) instead of an ORM object with its instance state and
    identity-map entry. The statement is still ORM-enabled, so the session's tenant scoping
    applies to it. A statement kept from one request to the next is not built again (tens of
    column coercions); only its keys change.
    """
    return sa.select(*columns_of(model)).where(column.in_(sa.bindparam(KEYS, expanding=True)), *where)


def objects_by_column(
    session: AsyncSession, statement: sa.Select[Any], key: str, build: Callable[[Any], Any]
) -> ObjectLoader:
    """Loads ``build(row)`` (or ``None``) per key, running ``statement`` (a :func:`keyed_select`) once per batch.

    ``key`` names the row attribute the keys match; ``build`` runs once per row, not once per
    key that asks for it: every request for the same key gets the same object.
    """

    async def fetch(keys: Sequence[Any]) -> dict[Any, Any]:
        rows = (await session.execute(statement, {KEYS: list(keys)})).all()
        return {getattr(row, key): build(row) for row in rows}

    return ObjectLoader(fetch)


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
