"""The public view's GraphQL types: what anyone may read behind a passport's QR code.

Owns ``PublicPassport``, ``PublicPassportField`` and ``PublicProduct``, made from the domain's
:class:`~subgraphs.passport.domain.PublicView` (cached by :mod:`subgraphs.passport.public_cache`).
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from subgraphs.common.tags import partner
from subgraphs.passport import domain
from subgraphs.passport.schema_fields import FieldType, made
from subgraphs.passport.schema_types import PassportStatus, Template, utc


@strawberry.type(directives=partner(), description="A PUBLIC field of the latest published version and its value.")
class PublicPassportField:
    """What the public may read about one field."""

    key: str
    label: str
    type: FieldType
    unit: str | None
    value: JSON | None = strawberry.field(description="null when the field was left empty.")


@strawberry.type(
    directives=partner(),
    description="The product of a published passport as it was when that version was published: the same for "
    "everyone, kept by the passport subgraph (the catalog's Product is private to its tenant).",
)
class PublicProduct:
    """The public face of a product, captured at publish time."""

    name: str
    category: str | None = strawberry.field(description="The name of the product's category.")


@strawberry.type(
    directives=partner(),
    description="The public view behind a passport's QR code: the latest published version, PUBLIC fields only. "
    "A revoked passport stays readable with status REVOKED and the reason.",
)
class PublicPassport:
    """A published passport as anyone sees it."""

    uuid: str
    name: str
    status: PassportStatus
    version: int = strawberry.field(description="Number of the published version shown.")
    published_at: datetime
    content_hash: str
    previous_hash: str | None
    revoked_at: datetime | None
    revocation_reason: str | None
    archived_at: datetime | None
    template_version: int
    fields: list[PublicPassportField]
    product: PublicProduct | None = strawberry.field(
        description="The product's name and category when this version was published, the same for everyone; "
        "null for versions published before the product was recorded, or while the catalog was unreachable."
    )
    template_id: strawberry.Private[str]

    @strawberry.field(description="The template version (null when the templates subgraph does not show it).")
    def template(self) -> Template | None:
        return Template(id=strawberry.ID(self.template_id))

    @classmethod
    def from_view(cls, view: domain.PublicView) -> PublicPassport:
        """The GraphQL form of the domain's public view (made on every cache hit: without the dataclass
        ``__init__`` s, see :func:`~subgraphs.passport.schema_fields.made`)."""
        return made(
            cls,
            {
                "uuid": view.uuid,
                "name": view.name,
                "status": PassportStatus[view.status],
                "version": view.version,
                "published_at": utc(view.published_at),
                "content_hash": view.content_hash,
                "previous_hash": view.previous_hash,
                "revoked_at": utc(view.revoked_at),
                "revocation_reason": view.revocation_reason,
                "archived_at": utc(view.archived_at),
                "template_version": view.template_version,
                "fields": [
                    made(
                        PublicPassportField,
                        {
                            "key": f.definition.key,
                            "label": f.definition.label,
                            "type": FieldType[f.definition.type],
                            "unit": f.definition.unit,
                            "value": f.value,
                        },
                    )
                    for f in view.fields
                ],
                "product": made(PublicProduct, {"name": view.product_name, "category": view.product_category})
                if view.product_name is not None
                else None,
                "template_id": view.template_id,
            },
        )
