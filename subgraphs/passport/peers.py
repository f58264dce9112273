"""What the passport subgraph asks the catalog and templates subgraphs, over HTTP.

Passport never imports their code: it resolves a product's category and a template
version's definition through their ``_entities`` field, speaking for the caller
(the caller's bearer token is forwarded, so their tenant scoping applies). The
domain sees only the :class:`Peers` protocol, so tests run it against the real
catalog and templates servers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from subgraphs.common.errors import DomainError, Forbidden, Unauthenticated
from subgraphs.passport.content import FieldDefinition

TIMEOUT = httpx.Timeout(10.0, connect=3.0)

PRODUCT_QUERY = "query($r:[_Any!]!){ _entities(representations:$r){ ... on Product { id name category { id name } } } }"
TEMPLATE_QUERY = (
    "query($r:[_Any!]!){ _entities(representations:$r){ ... on Template { id name status version "
    "category { id } fields { id key label type unit required min max pattern enumValues access position } } } }"
)


class PeerUnavailable(DomainError):
    """Another subgraph could not be reached or did not answer sensibly; nothing was written."""

    code = "SERVICE_UNAVAILABLE"


@dataclass(frozen=True, slots=True)
class ProductInfo:
    """What passport needs to know about a product."""

    id: str
    name: str
    category_id: str
    category_name: str


@dataclass(frozen=True, slots=True)
class TemplateInfo:
    """What passport needs to know about one template version."""

    id: str
    name: str
    status: str
    version: int
    category_id: str
    fields: tuple[FieldDefinition, ...]


class Peers(Protocol):
    """Lookups in other subgraphs, on the caller's behalf. ``None`` means missing or not visible."""

    async def product(self, product_id: str) -> ProductInfo | None:
        """The product with ``product_id`` as the caller sees it."""
        ...

    async def template(self, template_id: str) -> TemplateInfo | None:
        """The template version with ``template_id`` as the caller sees it."""
        ...


class HttpPeers:
    """:class:`Peers` over the subgraphs' GraphQL endpoints (``settings.service_urls``)."""

    def __init__(self, service_urls: Mapping[str, str], headers: Mapping[str, str]) -> None:
        self._urls = dict(service_urls)
        self._headers = {"content-type": "application/json", **headers}

    async def product(self, product_id: str) -> ProductInfo | None:
        """The product, from catalog's ``_entities``."""
        data = await self._entity("catalog", PRODUCT_QUERY, {"__typename": "Product", "id": product_id})
        if data is None:
            return None
        category = data.get("category") or {}
        return ProductInfo(
            id=str(data["id"]),
            name=str(data.get("name") or data["id"]),
            category_id=str(category.get("id") or ""),
            category_name=str(category.get("name") or category.get("id") or "none"),
        )

    async def template(self, template_id: str) -> TemplateInfo | None:
        """The template version, from templates' ``_entities``."""
        data = await self._entity("templates", TEMPLATE_QUERY, {"__typename": "Template", "id": template_id})
        if data is None:
            return None
        fields = tuple(
            FieldDefinition(
                id=str(item["id"]),
                key=str(item["key"]),
                label=str(item["label"]),
                type=str(item["type"]),
                access=str(item["access"]),
                position=int(item.get("position") or index),
                required=bool(item.get("required")),
                unit=item.get("unit"),
                min=item.get("min"),
                max=item.get("max"),
                pattern=item.get("pattern"),
                enum_values=tuple(item.get("enumValues") or ()),
            )
            for index, item in enumerate(data.get("fields") or ())
        )
        return TemplateInfo(
            id=str(data["id"]),
            name=str(data.get("name") or data["id"]),
            status=str(data["status"]),
            version=int(data["version"]),
            category_id=str((data.get("category") or {}).get("id") or ""),
            fields=fields,
        )

    async def _entity(self, service: str, query: str, representation: dict[str, Any]) -> dict[str, Any] | None:
        url = self._urls.get(service)
        if not url:
            raise PeerUnavailable(f"{service} subgraph unavailable: no URL configured", service=service)
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT) as client:
                response = await client.post(
                    url, json={"query": query, "variables": {"r": [representation]}}, headers=self._headers
                )
        except httpx.HTTPError as exc:
            raise PeerUnavailable(
                f"{service} subgraph unavailable ({type(exc).__name__}); nothing was changed, try again",
                service=service,
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise PeerUnavailable(
                f"{service} subgraph unavailable (HTTP {response.status_code}); nothing was changed, try again",
                service=service,
            )
        _raise_for_errors(service, body.get("errors") or [])
        entities = (body.get("data") or {}).get("_entities") or [None]
        entity = entities[0]
        # A stub without the fragment's fields means the peer does not know the object.
        return entity if isinstance(entity, dict) and entity.get("id") else None


def _raise_for_errors(service: str, errors: list[dict[str, Any]]) -> None:
    for error in errors:
        code = (error.get("extensions") or {}).get("code")
        message = str(error.get("message", "unknown error"))
        if code == "UNAUTHENTICATED":
            raise Unauthenticated(message)
        if code == "FORBIDDEN":
            raise Forbidden(message)
        if code == "NOT_FOUND":
            continue  # the entity is simply not visible: reported as None by the caller
        raise PeerUnavailable(f"{service} subgraph failed: {message}", service=service)
