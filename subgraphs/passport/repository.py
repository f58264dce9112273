"""Persistence of passports and their versions, through the request's tenant-scoped session.

No function here filters by tenant: :mod:`subgraphs.common.tenancy` does it for every
ORM SELECT. Only :func:`public_passports` reads outside the session, on the public-read
pool's connection, because a published passport behind its QR code is public by nature;
the domain then shows only its PUBLIC fields.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from subgraphs.passport.models import Passport, PassportVersion
from subgraphs.passport.snapshots import Snapshot, Snapshots

# A listed passport: the plain row of its columns (attributes named as the model's), its values, its snapshot.
ListedPassport = tuple[Any, Any, Snapshot]


@dataclass(frozen=True, slots=True)
class PassportFilter:
    """Conditions of a passport listing; ``None`` means no condition."""

    status: str | None = None
    product_id: str | None = None
    template_id: str | None = None
    name_contains: str | None = None


def _conditions(flt: PassportFilter) -> list[Any]:
    conditions: list[Any] = []
    if flt.status:
        conditions.append(Passport.status == flt.status)
    if flt.product_id:
        conditions.append(Passport.product_id == flt.product_id)
    if flt.template_id:
        conditions.append(Passport.template_id == flt.template_id)
    if flt.name_contains:
        # Names are upper case by rule, so an upper-cased needle makes the search case-insensitive.
        needle = flt.name_contains.upper().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(Passport.name.like(f"%{needle}%", escape="\\"))  # type: ignore[attr-defined]
    return conditions


# What a listing selects of a passport: its columns as a plain row (no ORM object per passport), with
# the values and the template snapshot as text, decoded below (the snapshot once per distinct text).
_LISTED: tuple[Any, ...] = (
    *(
        getattr(Passport, key)
        for key in sa.inspect(Passport).column_attrs.keys()
        if key not in ("values", "template_fields")
    ),
    sa.cast(Passport.values, sa.Text).label("values_text"),  # type: ignore[arg-type]
    sa.cast(Passport.template_fields, sa.Text).label("snapshot"),  # type: ignore[arg-type]
)


def _decoded(text: str | None) -> Any:
    """A JSON text from the database (orjson, with the standard library for what orjson refuses: big integers)."""
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


async def list_passports(
    session: AsyncSession, flt: PassportFilter, *, offset: int, limit: int, snapshots: Snapshots
) -> tuple[list[ListedPassport], int]:
    """One page of the caller's passports, ordered by name, each with its decoded values and snapshot, and the total.

    Two statements, the count first. Not one with ``count(*) OVER ()``: the window makes the
    database build every row of the filtered list, content JSON included, before the LIMIT
    (make bench-dpp's dashboard, 5,000 passports per tenant: 0.34x on SQLite, PostgreSQL's CPU per
    request 0.58 -> 2.69 ms), where a count alone reads the index.

    The page is read as plain rows of the passport's columns (the tenant filter of
    :mod:`subgraphs.common.tenancy` applies to them as to the model): building and tracking an ORM
    object per passport cost more than the rest of the row. The snapshot (``template_fields``) is read
    as text and decoded once per distinct text (:class:`~subgraphs.passport.snapshots.Snapshots`): a page
    repeats a few snapshots of 2-3 KB, and decoding each copy cost more than the rest of the row.
    """
    conditions = _conditions(flt)
    total = int((await session.exec(sa.select(sa.func.count()).select_from(Passport).where(*conditions))).one()[0])  # type: ignore[call-overload]
    if limit <= 0 or offset >= total:
        return [], total
    stmt = page_statement(flt, offset=offset, limit=limit)
    rows = (await session.exec(stmt)).all()  # type: ignore[call-overload]
    return [(row, _decoded(row.values_text), snapshots.from_text(row.snapshot)) for row in rows], total


def page_statement(flt: PassportFilter, *, offset: int, limit: int) -> sa.Select[Any]:
    """The rows of one page of a listing, ordered by name: the page's ids first, then its rows.

    PostgreSQL computes a select list before it sorts, so with the text casts of the values and the
    snapshot beside ``ORDER BY ... LIMIT`` it turned every filtered row's JSON into text to keep 50
    (make bench-dpp --no-sharing's dashboard, 5,000 passports per tenant: 75-120 ms per listing
    statement, PostgreSQL's CPU per request 89 -> 19 ms once the page's ids are sorted alone).
    """
    page = (
        sa.select(col(Passport.id))
        .where(*_conditions(flt))
        .order_by(Passport.name, Passport.id)
        .offset(offset)
        .limit(limit)
        .subquery("page")
    )
    return sa.select(*_LISTED).join(page, page.c.id == Passport.id).order_by(Passport.name, Passport.id)


async def get_passport(session: AsyncSession, passport_id: str) -> Passport | None:
    """The caller's passport with ``passport_id`` (``None`` when missing or another tenant's)."""
    stmt = sa.select(Passport).where(col(Passport.id) == passport_id)
    return (await session.exec(stmt)).scalars().first()  # type: ignore[call-overload]


async def name_taken(session: AsyncSession, name: str) -> bool:
    """Whether the caller's tenant already has a passport called ``name``."""
    stmt = sa.select(col(Passport.id)).where(col(Passport.name) == name).limit(1)
    return (await session.exec(stmt)).first() is not None  # type: ignore[call-overload]


async def claim_version(session: AsyncSession, passport: Passport, expected: int) -> bool:
    """Atomically move ``passport`` from version ``expected`` to the next one.

    A conditional UPDATE, so two concurrent writers cannot both succeed from the
    same version: the loser sees ``False`` and reports a conflict.
    """
    stmt = (
        sa.update(Passport)
        .where(Passport.id == passport.id, Passport.version == expected)  # type: ignore[arg-type]
        .values(version=expected + 1)
        .execution_options(synchronize_session=False)
    )
    result = await session.exec(stmt)  # type: ignore[call-overload]
    if result.rowcount != 1:
        return False
    # Keep the loaded object in step so that its own flush writes the same number.
    passport.version = expected + 1
    return True


async def current_version(session: AsyncSession, passport_id: str) -> int | None:
    """The version number as stored now (after a failed claim, for the conflict message)."""
    stmt = sa.select(col(Passport.version)).where(col(Passport.id) == passport_id)
    row = (await session.exec(stmt.execution_options(populate_existing=True))).first()  # type: ignore[call-overload]
    return None if row is None else int(row[0])


class PublicRow(NamedTuple):
    """What the public view reads of a passport and its latest published version, as plain values.

    ``number`` and the version's columns after it are None when that version is missing; ``snapshot``
    is the decoded ``template_fields``; ``content`` the version's hashed text (its values are read
    from it, see :func:`~subgraphs.passport.content.hashed_values`).
    """

    uuid: str
    name: str
    status: str
    published_version: int
    revoked_at: datetime | None
    revocation_reason: str | None
    archived_at: datetime | None
    product_id: str
    template_id: str
    template_version: int
    snapshot: Any
    number: int | None
    published_at: datetime | None
    content: str | None
    content_hash: str | None
    previous_hash: str | None
    product_name: str | None
    product_category: str | None


# PublicRow's columns, in its order: no ORM object, and neither copy of the working values (the passport's
# and the version's ``values`` JSON, which the public view does not show: it reads the hashed content).
_SNAPSHOT = PublicRow._fields.index("snapshot")  # the passport's columns before it, its version's after
_PUBLIC: tuple[Any, ...] = (
    *(getattr(Passport, key) for key in PublicRow._fields[:_SNAPSHOT]),
    sa.cast(Passport.template_fields, sa.Text).label("snapshot"),  # type: ignore[arg-type]
    *(getattr(PassportVersion, key) for key in PublicRow._fields[_SNAPSHOT + 1 :]),
)


async def public_passports(connection: AsyncConnection, uuids: Sequence[str]) -> list[PublicRow | None]:
    """Per public uuid, any tenant's passport and its latest published version, in one statement.

    The public read behind ``publicPassport`` and ``publicPassportChanged``, on a connection of
    :meth:`~subgraphs.common.db.Database.public_read` (nothing scopes it to a tenant: it reads by
    uuid, and the domain shows only PUBLIC fields). A QR-code scan that misses the public-view cache
    runs it, so it reads plain rows of the columns the view needs, neither copy of the working values.
    """
    stmt = (
        sa.select(*_PUBLIC)
        .outerjoin(
            PassportVersion,
            sa.and_(
                col(PassportVersion.passport_id) == Passport.id,
                col(PassportVersion.number) == Passport.published_version,
            ),
        )
        .where(col(Passport.uuid).in_(list(dict.fromkeys(uuids))))
    )
    found: dict[str, PublicRow] = {}
    for row in (await connection.execute(stmt)).all():
        found[row[0]] = PublicRow._make((*row[:_SNAPSHOT], _decoded(row[_SNAPSHOT]), *row[_SNAPSHOT + 1 :]))
    return [found.get(uuid) for uuid in uuids]
