"""Serialising the writes whose rules are checked before writing (check-then-write).

A rule such as "at most five products of a tenant in this category" is a count
followed by an insert. Two requests that count at the same time both see room,
so the count and the write must not interleave with another writer's:

* SQLite: every mutation's transaction starts with ``BEGIN IMMEDIATE``
  (:func:`begin_write`, called by :func:`subgraphs.common.audit.run_mutation`),
  which takes the database's one write lock before the first read, so the reads
  of a mutation see every committed write and no other writer runs until it
  commits. WAL readers (queries) keep running beside it. Python's sqlite3 module
  would otherwise begin a transaction only at the first INSERT/UPDATE, after the
  checks had read in autocommit mode.
* PostgreSQL: a rule takes a lock inside the mutation's transaction before it
  reads: ``SELECT ... FOR UPDATE`` on the row the rule is about (a category), or
  :func:`rule_lock`, a transaction-scoped advisory lock on a key naming the rule
  and its scope (a tenant), where no single row stands for the rule. Under READ
  COMMITTED each statement after the lock sees what the previous holder committed.

Where a rule is a unique constraint, the domain checks it before writing for a precise
message, and :func:`flush_or_conflict` turns the constraint firing anyway (a concurrent
request won the race after the checks) into the same kind of CONFLICT.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from subgraphs.common.errors import Conflict

_ADVISORY_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


async def begin_write(session: Any) -> None:
    """Start a write transaction on ``session`` (an AsyncSession with no transaction yet).

    On SQLite this is ``BEGIN IMMEDIATE`` (waits up to the busy timeout for the
    write lock); on PostgreSQL the transaction begins as usual (with its RLS settings).
    """
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        await connection.exec_driver_sql("BEGIN IMMEDIATE")


async def rule_lock(session: Any, rule: str, *scope: str) -> None:
    """Hold ``rule`` for ``scope`` until the transaction ends (PostgreSQL; SQLite holds its write lock).

    Concurrent transactions asking for the same rule and scope wait here, one
    after the other; other rules and scopes pass.
    """
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await connection.execute(_ADVISORY_LOCK, {"key": ":".join((rule, *scope))})


async def flush_or_conflict(flushable: Any, message: str, **extensions: Any) -> None:
    """``await flushable.flush()`` (a session or a repository); a constraint violation is a CONFLICT saying
    ``message`` (with ``extensions``).

    ``message`` is composed before the flush: a failed flush expires every loaded row.
    Other failures (a stale version, for instance) pass through. The mutation's
    transaction is rolled back by :func:`subgraphs.common.audit.run_mutation`.
    """
    try:
        await flushable.flush()
    except IntegrityError:
        raise Conflict(message, **extensions) from None
