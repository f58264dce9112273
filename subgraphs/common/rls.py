"""Row-level security on PostgreSQL: the database refuses another tenant's rows.

The ORM filter of :mod:`subgraphs.common.tenancy` scopes every query the code
writes; row-level security scopes every statement the database runs, including a
raw ``SELECT * FROM catalog_products`` inside a tenant's transaction. SQLite has no
row-level security and keeps the ORM filter only; there a tenant-scoped session
refuses what the filter cannot reach (Core statements over a tenant table, raw SQL
naming one: :class:`~subgraphs.common.tenancy.UnscopedStatement`).

Which tables: every table with a ``tenant_id`` column. That is each model deriving
:class:`~subgraphs.common.models.TenantOwned` (products, passports, passport
versions, template enablements, identity memberships, roles and role grants) and
each subgraph's audit table (its rows carry product data in ``before``/``after``).
:func:`tenant_tables` finds them in the metadata, so the tests check every one and
a new table cannot be forgotten. Platform-wide tables (categories, templates,
template fields, identity tenants and users) have no tenant column and no policy.

The policies read three settings that the persistence layer
sets (``set_config(name, value, true)``, i.e. ``SET LOCAL``) at the start of every
transaction of a scoped session, in one statement (:data:`BEGIN_SQL`), or for the
life of a connection of the public-read pool:

``app.tenant_id``
    The session's tenant; empty for an anonymous session. A row is visible and
    writable when its ``tenant_id`` equals it (``USING`` and ``WITH CHECK``, so an
    INSERT or an UPDATE cannot move a row into another tenant either).
``app.unrestricted``
    ``on`` for system sessions only (migrations, seeding, signing in, which reads a
    user's memberships in every tenant): every row, read and write.
``app.public_read``
    ``on`` only in the connections of the public-read pool
    (:meth:`~subgraphs.common.db.Database.public_read`, a published passport behind
    its QR code), set for their whole life when they connect, and always with
    ``default_transaction_read_only``: SELECT only, by the policy and by PostgreSQL.
    A scoped session's settings statement sets it ``off``.

Audit tables also accept an INSERT of a row without tenant (a failed anonymous
call has none); such rows are read by system sessions only.

Threat model, honestly: the settings are not secrets. They protect against a query
that forgets its filter, a raw statement, a bug in a join, not against an attacker
who can run arbitrary SQL as the application role (who could call ``set_config``
too). What they do require is that the application role does not bypass RLS: it
must be neither a superuser nor ``BYPASSRLS``; tables are ``FORCE ROW LEVEL
SECURITY`` so that the role owning them (the migrations create them) is subject
too. Foreign-key checks and ``ON DELETE CASCADE`` bypass RLS by design of
PostgreSQL, so integrity across tenants is unaffected.

Migrations call :func:`enable_tenant_rls` after creating a tenant table (a no-op
on SQLite); a data migration that reads or writes rows calls
:func:`run_unrestricted` first.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

TENANT_SETTING = "app.tenant_id"
UNRESTRICTED_SETTING = "app.unrestricted"
PUBLIC_READ_SETTING = "app.public_read"

#: Run once at the start of each transaction of a scoped session (one round trip).
BEGIN_SQL = sa.text(
    f"SELECT set_config('{TENANT_SETTING}', :tenant_id, true),"
    f" set_config('{UNRESTRICTED_SETTING}', :unrestricted, true),"
    f" set_config('{PUBLIC_READ_SETTING}', 'off', true)"
)
#: For the rest of the transaction, every tenant's rows (data migrations, tests inspecting what was written).
UNRESTRICTED_SQL = sa.text(f"SELECT set_config('{UNRESTRICTED_SETTING}', 'on', true)")

POLICY_TENANT = "tenant_isolation"
POLICY_UNRESTRICTED = "unrestricted_access"
POLICY_PUBLIC_READ = "public_read"
POLICY_UNTENANTED_INSERT = "untenanted_insert"
POLICIES = (POLICY_TENANT, POLICY_UNRESTRICTED, POLICY_PUBLIC_READ, POLICY_UNTENANTED_INSERT)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def policy_statements(
    table: str, tenant_column: str = "tenant_id", *, allow_untenanted_insert: bool = False
) -> list[str]:
    """The SQL that puts ``table`` under row-level security (PostgreSQL)."""
    t, c = _quote(table), _quote(tenant_column)
    tenant = f"({c} = current_setting('{TENANT_SETTING}', true))"
    unrestricted = f"(current_setting('{UNRESTRICTED_SETTING}', true) = 'on')"
    public = f"(current_setting('{PUBLIC_READ_SETTING}', true) = 'on')"
    statements = [
        f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {POLICY_TENANT} ON {t} USING {tenant} WITH CHECK {tenant}",
        f"CREATE POLICY {POLICY_UNRESTRICTED} ON {t} USING {unrestricted} WITH CHECK {unrestricted}",
        f"CREATE POLICY {POLICY_PUBLIC_READ} ON {t} FOR SELECT USING {public}",
    ]
    if allow_untenanted_insert:
        statements.append(f"CREATE POLICY {POLICY_UNTENANTED_INSERT} ON {t} FOR INSERT WITH CHECK ({c} IS NULL)")
    return statements


def drop_statements(table: str) -> list[str]:
    """The SQL that takes ``table`` out of row-level security again."""
    t = _quote(table)
    return [
        *(f"DROP POLICY IF EXISTS {name} ON {t}" for name in POLICIES),
        f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} DISABLE ROW LEVEL SECURITY",
    ]


def _is_postgres(op: Any) -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def enable_tenant_rls(
    op: Any, table: str, tenant_column: str = "tenant_id", *, allow_untenanted_insert: bool = False
) -> None:
    """In a migration: row-level security on ``table`` keyed on ``tenant_column`` (no-op on SQLite).

    ``allow_untenanted_insert`` is for audit tables, whose tenant column is nullable.
    """
    if _is_postgres(op):
        for statement in policy_statements(table, tenant_column, allow_untenanted_insert=allow_untenanted_insert):
            op.execute(statement)


def disable_tenant_rls(op: Any, table: str) -> None:
    """In a migration's downgrade: undo :func:`enable_tenant_rls` (no-op on SQLite)."""
    if _is_postgres(op):
        for statement in drop_statements(table):
            op.execute(statement)


def run_unrestricted(op: Any) -> None:
    """In a data migration: let the rest of the migration's transaction read and write every tenant's rows."""
    if _is_postgres(op):
        op.execute(UNRESTRICTED_SQL)


def tenant_tables(metadata: sa.MetaData, prefix: str = "", tenant_column: str = "tenant_id") -> list[sa.Table]:
    """Every table of ``metadata`` (named with ``prefix``) that has a tenant column: all need RLS."""
    return [
        table
        for name, table in sorted(metadata.tables.items())
        if name.startswith(prefix) and tenant_column in table.columns
    ]
