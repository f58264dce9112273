"""Tenant scoping, applied once for every ORM query of a session.

A session carries a :class:`Scope` in ``session.info``. Every ORM SELECT of a
:class:`~subgraphs.common.models.TenantOwned` model is filtered to the scope's
tenant; an anonymous scope sees no tenant-owned rows at all. What is public by
nature (a published passport behind its QR code) is read outside any session, on
:meth:`~subgraphs.common.db.Database.public_read`'s connections. Rows added to the
session are stamped with the scope's tenant, and a flush that would write a row of
another tenant is refused.

On PostgreSQL the database enforces the same scope with row-level security
(:mod:`subgraphs.common.rls`): at the start of every transaction the session sets
``app.tenant_id`` and ``app.unrestricted`` (and ``app.public_read`` off) for that
transaction only, in one statement (``after_begin``). When the scope of a session
changes inside a transaction (identity flushes the rows of a tenant being onboarded
under that tenant's scope), the next statement or flush sets the settings again
first, as it does after a savepoint ended (a savepoint's rollback reverts what was
set inside it). The filter here stays the one place where the application scopes
its queries; RLS is the net under it.

The filter (``with_loader_criteria``) reaches ORM entities only, so a tenant-scoped
session refuses, with :class:`UnscopedStatement` and before anything runs, what it
cannot reach: a SELECT that reads a tenant-owned table past its entity (the table's
``__table__``, a Core alias or join of it, ``sa.table(name)``; also when the
statement selects the entity as well), on every backend. Read through the entity
or its attributes (``select(Product.id, Product.name)`` is filtered like
``select(Product)``), or use a system session. ORM bulk UPDATE and DELETE of a
tenant-owned entity are filtered like SELECTs. Where no row-level security backs
the filter (SQLite), Core INSERT/UPDATE/DELETE of a tenant-owned table, an ORM bulk
INSERT of one (writes go through ``session.add``, which stamps the tenant), and raw
SQL (``text()``, ``literal_column``) naming one are refused too; on PostgreSQL they
run under the policies (the RLS tests send raw statements through tenant sessions
on purpose).

Limits, honestly: raw SQL is matched by the tenant-owned table names it contains
(any case or quoting), which is sound for SQL that names tables itself but not for
a view, trigger or function that reads one under another name (the schema has
none); the scan runs on statements sent through the session (``session.execute``
and friends), not on ``session.connection().execute(...)``, which skips the ORM
events altogether, nor on the ORM's own loads of relationships and deferred
columns, which inherit the criteria of the statement that loaded their parent.
On SQLite those paths rely on the code going through the session; on PostgreSQL
row-level security scopes them all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, with_loader_criteria
from sqlalchemy.sql.visitors import HasTraverseInternals
from sqlmodel import Session as SQLModelSession

from subgraphs.common.models import TenantOwned
from subgraphs.common.rls import BEGIN_SQL

SCOPE_KEY = "dpp_scope"
# The scope whose settings the current PostgreSQL transaction carries (absent: none yet, or not PostgreSQL).
_APPLIED_KEY = "dpp_rls_scope"


@dataclass(frozen=True, slots=True)
class Scope:
    """The tenant a session may see. ``unrestricted`` is for migrations, seeding and system tasks."""

    tenant_id: str | None = None
    unrestricted: bool = False


SYSTEM = Scope(unrestricted=True)


# After a savepoint ended: equal to no scope, so the next statement sets the settings again.
_UNKNOWN = object()


class TenantLeak(RuntimeError):
    """A write tried to touch a row of a tenant other than the session's."""


class UnscopedStatement(TenantLeak):
    """A tenant-scoped session was asked to run a statement the tenant filter cannot reach.

    Raised before the statement runs: a Core statement over a tenant-owned table (its
    ``__table__``, an alias of it, ``sa.table(name)``), or on SQLite raw SQL naming one.
    Read the table through its ORM entity (``select(Product.id)``), or use a system session.
    """


def scope_of(session: Session) -> Scope:
    """The scope stored on a (sync) session; sessions without one see nothing tenant-owned."""
    return session.info.get(SCOPE_KEY, Scope())


def _apply_settings(session: Session, connection: Connection, scope: Scope) -> None:
    connection.execute(
        BEGIN_SQL, {"tenant_id": scope.tenant_id or "", "unrestricted": "on" if scope.unrestricted else "off"}
    )
    session.info[_APPLIED_KEY] = scope


def _after_begin(session: Session, _transaction: Any, connection: Connection) -> None:
    """Every PostgreSQL transaction of a scoped session starts with the scope's RLS settings."""
    if connection.dialect.name == "postgresql":
        _apply_settings(session, connection, scope_of(session))


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_APPLIED_KEY, None)
    elif _APPLIED_KEY in session.info:
        # a savepoint's rollback reverts what SET LOCAL did inside it: what the transaction carries
        # is unknown now, so the next statement sets the settings again
        session.info[_APPLIED_KEY] = _UNKNOWN


def _sync_settings(session: Session) -> None:
    """Set the RLS settings again when the scope changed since the transaction began (or is unknown)."""
    applied = session.info.get(_APPLIED_KEY)
    if applied is not None and applied != scope_of(session):
        _apply_settings(session, session.connection(), scope_of(session))


def _on_execute(state: ORMExecuteState) -> None:
    _sync_settings(state.session)
    _scope_statement(state)


def _scope_statement(state: ORMExecuteState) -> None:
    """Filter the statement to the scope's tenant, or refuse it when the filter cannot reach it."""
    if state.is_column_load or state.is_relationship_load:
        return  # the ORM's own loads of an entity: the criteria propagate to them
    scope = scope_of(state.session)
    if scope.unrestricted:
        return
    statement = state.statement
    reads = state.is_select or isinstance(statement, sa.TextClause)
    writes = state.is_update or state.is_delete or state.is_insert
    if not (reads or writes):
        return
    owned = _tenant_owned_tables()
    # PostgreSQL's row-level security scopes raw SQL and Core writes; SQLite has nothing under this filter.
    no_rls = state.session.get_bind().dialect.name != "postgresql"
    classes = {m.class_: None for m in state.all_mappers if issubclass(m.class_, TenantOwned)}
    unscoped = _scan(statement, owned, no_rls, classes)
    if unscoped is not None and (reads or no_rls):
        raise UnscopedStatement(f"refusing a statement on {unscoped} past its ORM entity in a tenant-scoped session")
    if state.is_insert and classes and no_rls:
        raise UnscopedStatement("refusing a bulk INSERT of tenant-owned rows: add them to the session")
    if state.is_select or state.is_update or state.is_delete:
        _filter_tenant_owned(state, list(classes))


def _filter_tenant_owned(state: ORMExecuteState, classes: list[type]) -> None:
    tenant_id = scope_of(state.session).tenant_id
    options = []
    # Criteria go on each mapped tenant-owned class in the statement: TenantOwned itself
    # is a plain SQLModel base without mapped columns.
    for cls in classes:
        if tenant_id is None:
            criteria: Any = sa.false()  # anonymous: no tenant-owned rows
        else:
            criteria = cls.tenant_id == tenant_id  # type: ignore[attr-defined]
        options.append(with_loader_criteria(cls, criteria, include_aliases=True))
    if options:
        state.statement = state.statement.options(*options)


def _tenant_owned_tables() -> dict[str, type]:
    """The table name of each mapped tenant-owned class (TenantOwned itself has no table)."""
    tables: dict[str, type] = {}
    stack = list(TenantOwned.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        table = getattr(cls, "__table__", None)
        if table is not None:
            tables[table.name] = cls
    return tables


def _scan(statement: Any, owned: dict[str, type], no_rls: bool, classes: dict[type, None]) -> str | None:
    """One walk of the statement: the tenant-owned classes it reads through their ORM entities
    (added to ``classes``), and the first tenant-owned table it reads past them (``None``: none).

    An element annotated with its ``parententity`` is the ORM's: an entity, an attribute, or an
    ``aliased()`` one, all reached by ``with_loader_criteria``; the walk takes its class and does
    not descend into it (an attribute's column leads to the plain table). The ORM's own
    ``session.get`` criterion is annotated ``_orm_adapt``. Every other table (a ``__table__``, an
    alias of it, ``sa.table(name)``; matched by name) is outside the filter. Without row-level
    security under the filter (``no_rls``: SQLite), raw SQL (``text()``, ``literal_column``)
    naming a tenant-owned table is too.
    """
    stack = [statement]
    while stack:
        element = stack.pop()
        annotations = element._annotations
        if annotations:
            entity = annotations.get("parententity")
            if entity is not None:
                cls = entity.mapper.class_
                if issubclass(cls, TenantOwned):
                    classes.setdefault(cls, None)
                if isinstance(element, (sa.ColumnClause, sa.FromClause)):
                    continue
            elif "_orm_adapt" in annotations and isinstance(element, sa.ColumnClause):
                continue
        visit = element.__visit_name__
        if visit == "table":
            if element.name in owned:
                return str(element.name)
        elif no_rls and (visit == "textclause" or (visit == "column" and element.is_literal)):
            named = _named_in(element.text if visit == "textclause" else element.name, owned)
            if named is not None:
                return named
        if visit == "column" and element.table is not None:
            stack.append(element.table)  # a column's children leave out its table (or alias, or subquery)
        if visit == "select":
            # Select.get_children adds the FROMs its columns imply, deannotated: an attribute's
            # table would read as a plain one. Its own attributes (explicit FROMs and joins
            # included) are walked instead; every implied FROM is reached through its column.
            stack.extend(HasTraverseInternals.get_children(element, omit_attrs=_CORRELATION))
        else:
            stack.extend(element.get_children())
    return None


_CORRELATION = ("_correlate", "_correlate_except")


def _named_in(sql: str, owned: dict[str, type]) -> str | None:
    """The tenant-owned table that raw SQL names, in any case or quoting (``None``: none)."""
    lowered = sql.lower()
    for name in owned:
        lowered_name = name.lower()
        if lowered_name in lowered and re.search(rf"(?<![\w$]){re.escape(lowered_name)}(?![\w$])", lowered):
            return name
    return None


def _stamp_and_check(session: Session, _flush_context: Any, _instances: Any) -> None:
    _sync_settings(session)
    scope = scope_of(session)
    if scope.unrestricted:
        return
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if not isinstance(obj, TenantOwned):
            continue
        if obj in session.new and not obj.tenant_id:
            obj.tenant_id = scope.tenant_id  # type: ignore[assignment]
        if scope.tenant_id is None or obj.tenant_id != scope.tenant_id:
            raise TenantLeak(f"refusing to write {type(obj).__name__} of another tenant")


class ScopedSession(SQLModelSession):
    """The sync session class behind every subgraph's AsyncSession: it enforces the scope."""


event.listen(ScopedSession, "do_orm_execute", _on_execute)
event.listen(ScopedSession, "before_flush", _stamp_and_check)
event.listen(ScopedSession, "after_begin", _after_begin)
event.listen(ScopedSession, "after_transaction_end", _after_transaction_end)
