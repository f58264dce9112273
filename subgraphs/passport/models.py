"""The passport subgraph's tables: passports, their published versions and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from subgraphs.common.audit import AuditEntryBase
from subgraphs.common.ids import new_id, utcnow
from subgraphs.common.models import TenantOwned, created_at_field, id_field, json_field

DRAFT = "DRAFT"
PUBLISHED = "PUBLISHED"
REVOKED = "REVOKED"
ARCHIVED = "ARCHIVED"
STATUSES: tuple[str, ...] = (DRAFT, PUBLISHED, REVOKED, ARCHIVED)


class Passport(TenantOwned, table=True):
    """A Digital Product Passport: one product, one template version, the working values.

    ``template_fields`` is a snapshot of the template version's field definitions taken
    at creation. Published template versions are immutable, so the snapshot stays true
    and values are validated without asking the templates subgraph again.

    ``version`` is the optimistic-locking counter (every change bumps it);
    ``published_version`` is the number of the latest published version (0: never published),
    whose hash and time are copied here so that listings need no join.
    """

    __tablename__ = "passport_passports"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "name", name="uq_passport_passports_tenant_name"),
        sa.UniqueConstraint("uuid", name="uq_passport_passports_uuid"),
    )

    id: str = id_field()
    uuid: str = Field(max_length=36)
    name: str = Field(max_length=50)
    product_id: str = Field(index=True, max_length=26)
    template_id: str = Field(index=True, max_length=26)
    template_version: int
    category_id: str = Field(max_length=26)
    status: str = Field(default=DRAFT, max_length=16, index=True)
    values: Any = json_field()
    template_fields: Any = json_field()
    version: int = Field(default=1)
    published_version: int = Field(default=0)
    published_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True), nullable=True)
    content_hash: str | None = Field(default=None, max_length=64)
    previous_hash: str | None = Field(default=None, max_length=64)
    revoked_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True), nullable=True)
    revocation_reason: str | None = Field(default=None, max_length=500)
    archived_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True), nullable=True)
    created_by: str | None = Field(default=None, max_length=26)
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True), nullable=False)


class PassportVersion(TenantOwned, table=True):
    """One published, immutable version of a passport.

    ``content`` is the exact canonical JSON text that was hashed, kept as text (not JSON)
    so that the database can never re-render it (number formats, key order) and break
    the hash; ``content_hash`` = SHA-256 of its UTF-8 bytes.

    ``product_name`` and ``product_category`` are the product's public face, asked of the
    catalog at publish time and shown by ``publicPassport`` to everyone; they are not part
    of the hashed content. ``None`` for versions published before passport_0004 or while
    the catalog was unreachable.
    """

    __tablename__ = "passport_versions"
    __table_args__ = (sa.UniqueConstraint("passport_id", "number", name="uq_passport_versions_passport_number"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=26)
    passport_id: str = Field(foreign_key="passport_passports.id", index=True, max_length=26)
    number: int
    values: Any = json_field()
    content: str = Field(sa_type=sa.Text, nullable=False)
    content_hash: str = Field(max_length=64)
    previous_hash: str | None = Field(default=None, max_length=64)
    published_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True), nullable=False)
    published_by: str | None = Field(default=None, max_length=26)
    product_name: str | None = Field(default=None, max_length=200)
    product_category: str | None = Field(default=None, max_length=120)


class AuditEntry(AuditEntryBase, table=True):
    """The passport subgraph's audit trail (see :mod:`subgraphs.common.audit`)."""

    __tablename__ = "passport_audit_log"
