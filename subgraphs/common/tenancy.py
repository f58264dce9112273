"""Tenant scoping, applied once for every ORM query of a session.

A session carries a :class:`Scope` in ``session.info``. Every ORM SELECT of a
:class:`~subgraphs.common.models.TenantOwned` model is filtered to the scope's
tenant; an anonymous scope sees no tenant-owned rows at all unless the statement
opts in with ``execution_options(public_read=True)`` (used for data that is
public by nature, such as a published passport behind its QR code). Rows added
to the session are stamped with the scope's tenant, and a flush that would write
a row of another tenant is refused.

On PostgreSQL the database enforces the same scope with row-level security
(:mod:`subgraphs.common.rls`): at the start of every transaction the session sets
``app.tenant_id`` and ``app.unrestricted`` for that transaction only, in one
statement (``after_begin``); a ``public_read`` statement switches
``app.public_read`` on just around itself (SELECT only, off again right after).
When the scope of a session changes inside a transaction (identity flushes the
rows of a tenant being onboarded under that tenant's scope), the next statement
or flush sets the settings again first. The filter here stays the one place
where the application scopes its queries; RLS is the net under it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, with_loader_criteria
from sqlalchemy.sql.util import find_tables
from sqlmodel import Session as SQLModelSession

from subgraphs.common.models import TenantOwned
from subgraphs.common.rls import BEGIN_SQL, PUBLIC_READ_OFF_SQL, PUBLIC_READ_ON_SQL

SCOPE_KEY = "dpp_scope"
# The scope whose settings the current PostgreSQL transaction carries (absent: none yet, or not PostgreSQL).
_APPLIED_KEY = "dpp_rls_scope"


@dataclass(frozen=True, slots=True)
class Scope:
    """The tenant a session may see. ``unrestricted`` is for migrations, seeding and system tasks."""

    tenant_id: str | None = None
    unrestricted: bool = False


SYSTEM = Scope(unrestricted=True)


class TenantLeak(RuntimeError):
    """A write tried to touch a row of a tenant other than the session's."""


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


def _sync_settings(session: Session) -> None:
    """Set the RLS settings again when the scope changed since the transaction began."""
    applied = session.info.get(_APPLIED_KEY)
    if applied is not None and applied != scope_of(session):
        _apply_settings(session, session.connection(), scope_of(session))


def _on_execute(state: ORMExecuteState) -> Any:
    _sync_settings(state.session)
    _filter_tenant_owned(state)
    if not state.execution_options.get("public_read", False) or scope_of(state.session).unrestricted:
        return None
    if state.session.get_bind().dialect.name != "postgresql":
        return None
    connection = state.session.connection()  # begins the transaction (and sets the scope) if needed
    connection.execute(PUBLIC_READ_ON_SQL)
    # asyncpg's cursor has fetched every row when this returns, so switching off is safe. If the
    # statement fails, PostgreSQL has aborted the transaction, and its rollback resets the setting.
    result = state.invoke_statement()
    connection.execute(PUBLIC_READ_OFF_SQL)
    return result


def _filter_tenant_owned(state: ORMExecuteState) -> None:
    if not state.is_select or state.is_column_load or state.is_relationship_load:
        return
    scope = scope_of(state.session)
    if scope.unrestricted or state.execution_options.get("public_read", False):
        return
    tenant_id = scope.tenant_id
    options = []
    # Criteria go on each mapped tenant-owned class in the statement: TenantOwned itself
    # is a plain SQLModel base without mapped columns.
    for cls in _tenant_owned_classes_in(state):
        if tenant_id is None:
            criteria: Any = sa.false()  # anonymous: no tenant-owned rows
        else:
            criteria = cls.tenant_id == tenant_id
        options.append(with_loader_criteria(cls, criteria, include_aliases=True))
    if options:
        state.statement = state.statement.options(*options)


def _tenant_owned_classes_in(state: ORMExecuteState) -> list[type[TenantOwned]]:
    """Tenant-owned classes the statement reads, wherever they appear.

    ``all_mappers`` names only the selected entities, so a tenant-owned table that
    appears only in ``select_from``, a join or a subquery (``select(func.count())
    .select_from(Model)``, ``count`` of a filtered subquery) would escape the filter
    and, for instance, leak other tenants' counts. The tables found anywhere in the
    statement are matched against the mapped tenant-owned classes as well.
    """
    classes: dict[type, None] = {m.class_: None for m in state.all_mappers if issubclass(m.class_, TenantOwned)}
    tables = set(
        find_tables(cast(Any, state.statement), include_joins=True, include_aliases=True, include_selects=True)
    )
    stack = list(TenantOwned.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        table = getattr(cls, "__table__", None)
        if table is not None and table in tables:
            classes.setdefault(cls, None)
    return list(classes)  # type: ignore[arg-type]


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
