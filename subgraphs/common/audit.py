"""The audit trail: who did what to which object, with before/after and the result.

Each subgraph declares its own table from :class:`AuditEntryBase` (a subgraph
owns its tables), and every mutation goes through :func:`run_mutation`, which
writes the entry in the mutation's transaction on success, and in a fresh one
after rolling back on failure, so a failed mutation leaves nothing but its audit
entry behind.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from subgraphs.common.errors import DomainError, conflict_from
from subgraphs.common.events import EventDraft, draft, publish_quietly
from subgraphs.common.ids import new_id, utcnow
from subgraphs.common.writes import begin_write

T = TypeVar("T")
log = logging.getLogger("dpp.audit")

# The longest request id stored as a correlation id: the gateway accepts x-request-id up to this length
# (gateway/http/correlation.py), and a subgraph uses an id of its own for anything longer or unsafe.
MAX_CORRELATION_ID = 128
_SAFE_CORRELATION_ID = re.compile(rf"^[A-Za-z0-9._:\-]{{1,{MAX_CORRELATION_ID}}}$")


def correlation_id_from(header: str | None) -> str:
    """The request's correlation id: the caller's ``x-request-id`` when it is safe to store, else a new id."""
    if header and _SAFE_CORRELATION_ID.match(header):
        return header
    return new_id()


def widen_correlation_id(op: Any, table: str, length: int) -> None:
    """Migration step: ``table.correlation_id`` becomes ``VARCHAR(length)`` (batch mode, for SQLite too)."""
    with op.batch_alter_table(table) as batch:
        batch.alter_column("correlation_id", type_=sa.String(length), existing_nullable=True)


class AuditEntryBase(SQLModel):
    """Columns of every subgraph's audit table."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=26)
    tenant_id: str | None = Field(default=None, index=True, max_length=26)
    user_id: str | None = Field(default=None, max_length=26)
    action: str = Field(max_length=80)
    object_type: str = Field(max_length=80)
    object_id: str | None = Field(default=None, index=True, max_length=64)
    before: Any = Field(default=None, sa_type=sa.JSON, nullable=True)
    after: Any = Field(default=None, sa_type=sa.JSON, nullable=True)
    result: str = Field(max_length=40)  # "OK" or the error code
    message: str | None = Field(default=None)
    correlation_id: str | None = Field(default=None, max_length=MAX_CORRELATION_ID)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True), index=True)


# The message of an audit entry written for a platform administrator acting in a tenant it is
# not a member of (issue 7: every such act is audited as such).
PLATFORM_ADMIN_ACT = "platform administrator acting in this tenant"


class AuditRecord:
    """What a mutation tells the audit trail while it runs (object id, before and after), and the events it stages."""

    def __init__(self, object_id: str | None = None) -> None:
        self.object_id = object_id
        self.before: Any = None
        self.after: Any = None
        # Published by run_mutation after the commit; dropped with a rolled-back transaction.
        self.events: list[EventDraft] = []

    def emit(self, typename: str, key: str, kind: str, tenant_id: str | None, **attributes: object) -> None:
        """Stage an event for subscriptions (``subgraphs.common.events``), published only once this commits."""
        self.events.append(draft(typename, key, kind, tenant_id, **attributes))


def _row_id(row: Any) -> str:
    return str(row.id)


def _row_tenant(row: Any, caller: Any) -> str | None:
    return row.tenant_id  # type: ignore[no-any-return]


def _no_attributes(row: Any) -> Mapping[str, object]:
    return {}


def _the_result(result: Any) -> Iterable[Any]:
    return (result,)


@dataclass(frozen=True, slots=True)
class MutationEvent(Generic[T]):
    """What a mutation stages for subscriptions: one event of ``typename`` and ``kind`` per row of its result.

    A subgraph declares these (a table from action to event, :func:`event_table`) and hands
    :func:`run_mutation` the one of the action; run_mutation stages the events once ``work`` has
    returned, inside the transaction (the rows are read before the commit expires them), and
    publishes them after the commit. ``rows`` picks the rows out of the result (default: the
    result is the row), ``key`` is a row's key (default ``row.id``), ``tenant`` the tenant of a
    row given the caller (default ``row.tenant_id``), ``attributes`` what subscriptions filter on
    (``None`` values are left out, :func:`subgraphs.common.events.draft`).
    """

    typename: str
    kind: str
    key: Callable[[Any], str] = _row_id
    tenant: Callable[[Any, Any], str | None] = _row_tenant
    attributes: Callable[[Any], Mapping[str, object]] = _no_attributes
    rows: Callable[[T], Iterable[Any]] = _the_result

    def stage(self, record: AuditRecord, result: T, caller: Any) -> None:
        """Stage the event of every row of ``result`` on ``record``."""
        for row in self.rows(result):
            record.emit(self.typename, self.key(row), self.kind, self.tenant(row, caller), **self.attributes(row))


def event_table(
    typename: str,
    kinds: Mapping[str, str],
    *,
    tenant: Callable[[Any, Any], str | None] = _row_tenant,
    attributes: Callable[[Any], Mapping[str, object]] = _no_attributes,
) -> dict[str, MutationEvent[Any]]:
    """The :class:`MutationEvent` of each action in ``kinds`` (action -> kind), all of one typename and shape."""
    return {
        action: MutationEvent(typename, kind, tenant=tenant, attributes=attributes) for action, kind in kinds.items()
    }


async def run_mutation(
    ctx: Any,
    *,
    action: str,
    object_type: str,
    work: Callable[[AuditRecord], Awaitable[T]],
    object_id: str | None = None,
    exclusive: bool = True,
    event: MutationEvent[T] | None = None,
) -> T:
    """Run ``work`` in one transaction and audit it, whether it succeeds or fails.

    ``ctx`` is the request context (:class:`subgraphs.common.context.RequestContext`).
    On success the data and the audit entry commit together. On any failure the
    transaction rolls back completely and the failure is audited separately; the
    exception is re-raised for the GraphQL layer to report; a constraint violation
    becomes a CONFLICT (:func:`subgraphs.common.errors.conflict_from`). The events of ``event``
    (:class:`MutationEvent`, staged from ``work``'s result) and any ``work`` staged itself with
    :meth:`AuditRecord.emit` are published on the subgraph's bus after the commit
    (``ctx.service.events``), so a rolled-back write never reaches a subscription.

    ``exclusive`` (the default) makes the transaction a writer from its first
    statement (:func:`subgraphs.common.writes.begin_write`), so the checks a mutation
    reads cannot go stale before it writes. A mutation whose work writes through
    sessions of its own (identity's sign-in, token refresh and logout record
    attempts and sessions that must outlive a rollback) passes ``exclusive=False``:
    on SQLite those sessions would wait for the write lock this one holds.
    """
    session = ctx.session
    record = AuditRecord(object_id)
    model = ctx.service.audit_model
    caller = ctx.caller
    if session.in_transaction():
        # Reads earlier in the request may have begun one; start the mutation clean.
        await session.commit()
    try:
        if exclusive:
            await begin_write(session)
        result = await work(record)
        if event is not None:
            event.stage(record, result, caller)
        session.add(
            model(
                tenant_id=caller.tenant_id,
                user_id=caller.user_id,
                action=action,
                object_type=object_type,
                object_id=record.object_id,
                before=record.before,
                after=record.after,
                result="OK",
                message=PLATFORM_ADMIN_ACT if caller.acting_as_platform_admin else None,
                correlation_id=ctx.correlation_id,
            )
        )
        await session.commit()
    except IntegrityError as exc:
        # A constraint the checks did not foresee (or a race they lost): the caller's conflict.
        conflict = conflict_from(exc)
        await _audit_failure(ctx, model, action, object_type, record, conflict)
        raise conflict from None
    except BaseException as exc:
        await _audit_failure(ctx, model, action, object_type, record, exc)
        raise
    finally:
        ctx.loaders.clear()
    await publish_quietly(ctx.service.events, record.events)
    return result


async def _audit_failure(
    ctx: Any, model: Any, action: str, object_type: str, record: AuditRecord, exc: BaseException
) -> None:
    """Roll the mutation back and audit its failure in a transaction of its own."""
    session = ctx.session
    caller = ctx.caller
    await session.rollback()
    code = exc.code if isinstance(exc, DomainError) else "INTERNAL_SERVER_ERROR"
    message = exc.message if isinstance(exc, DomainError) else type(exc).__name__
    if caller.acting_as_platform_admin:
        message = f"{PLATFORM_ADMIN_ACT}: {message}"
    try:
        session.add(
            model(
                tenant_id=caller.tenant_id,
                user_id=caller.user_id,
                action=action,
                object_type=object_type,
                object_id=record.object_id,
                before=record.before,
                result=code,
                message=message[:500],
                correlation_id=ctx.correlation_id,
            )
        )
        await session.commit()
    except Exception:  # the failure itself matters more than its audit entry
        await session.rollback()
        log.exception("could not audit failed %s (correlation id %s)", action, ctx.correlation_id)
