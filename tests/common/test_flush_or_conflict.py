"""subgraphs.common.writes.flush_or_conflict on a real SQLite database: the one place a unique
constraint that fires at a mutation's flush becomes the CONFLICT its caller chose (catalog,
templates and identity each wrote their own copy before)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.orm.exc import StaleDataError

from subgraphs.common.errors import Conflict
from subgraphs.common.writes import flush_or_conflict


class _Base(DeclarativeBase):
    pass


class _Row(_Base):
    __tablename__ = "row"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(20), unique=True)
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}


async def test_a_unique_violation_is_the_conflict_given_and_other_failures_pass() -> None:
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    async with engine.begin() as connection:
        await connection.run_sync(_Base.metadata.create_all)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        session.add(_Row(id=1, name="twin"))
        await flush_or_conflict(session, "unused")  # nothing clashes: flushed, no error
        session.add(_Row(id=2, name="twin"))
        with pytest.raises(Conflict) as caught:
            await flush_or_conflict(session, "name 'twin' already exists", argument="name")
        assert caught.value.code == "CONFLICT"
        assert caught.value.message == "name 'twin' already exists"
        assert caught.value.extensions == {"argument": "name"}
        await session.rollback()

        session.add(_Row(id=3, name="one"))
        await session.commit()
        row = await session.get(_Row, 3)
        assert row is not None
        await session.execute(sa.text("UPDATE row SET version = 5 WHERE id = 3"))  # someone else changed it
        row.name = "changed"
        with pytest.raises(StaleDataError):  # not a constraint: the caller's own handling applies
            await flush_or_conflict(session, "unused")
    await engine.dispose()
