"""A supergraph composed here, served by our gateway, answers a cross-subgraph query.

Two small Strawberry subgraphs run in-process behind a transport that executes
their schemas directly, so the test needs no server and no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import strawberry
import strawberry.federation as federation

from gateway.composition import SubgraphSource, compose
from gateway.contracts import GraphQLRequest, SubgraphResponse
from gateway.runtime import Gateway

PRODUCTS = {"1": {"name": "Kettle", "weight": 3}, "2": {"name": "Toaster", "weight": 5}}
REVIEWS = {"1": ["Boils fast"], "2": ["Burns bread", "Crisp"]}


@federation.type(keys=["id"])
class Product:
    """The catalog's product."""

    id: strawberry.ID
    name: str
    weight: int

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Product:
        return Product(id=id, **PRODUCTS[str(id)])


@strawberry.type
class ProductsQuery:
    """Root of the products subgraph."""

    @strawberry.field
    def products(self) -> list[Product]:
        return [Product(id=strawberry.ID(k), **v) for k, v in PRODUCTS.items()]


@federation.type(keys=["id"], name="Product")
class ReviewedProduct:
    """Reviews' view of the product: its key, an external weight and what reviews add."""

    id: strawberry.ID
    weight: int = federation.field(external=True)

    @federation.field(requires=["weight"])
    def shipping(self) -> int:
        return self.weight * 2

    @strawberry.field
    def reviews(self) -> list[str]:
        return REVIEWS[str(self.id)]

    @classmethod
    def resolve_reference(cls, id: strawberry.ID, weight: int | None = None) -> ReviewedProduct:
        return ReviewedProduct(id=id, weight=weight or 0)


@strawberry.type
class ReviewsQuery:
    """Root of the reviews subgraph."""

    @strawberry.field
    def review_count(self) -> int:
        return sum(len(v) for v in REVIEWS.values())


SCHEMAS = {
    "products": federation.Schema(query=ProductsQuery, types=[Product]),
    "reviews": federation.Schema(query=ReviewsQuery, types=[ReviewedProduct]),
}


class InProcessTransport:
    """Executes subgraph requests against the Strawberry schemas in this process."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def fetch(
        self, subgraph: str, url: str, payload: Mapping[str, Any], headers: Mapping[str, str]
    ) -> SubgraphResponse:
        self.calls.append(subgraph)
        result = await SCHEMAS[subgraph].execute(payload["query"], variable_values=payload.get("variables"))
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [{"message": e.message, "path": e.path} for e in result.errors]
        return SubgraphResponse(body=body)


def _sdl(name: str) -> str:
    result = SCHEMAS[name].execute_sync("{ _service { sdl } }")
    assert result.data is not None
    return str(result.data["_service"]["sdl"])


async def test_composed_supergraph_answers_a_cross_subgraph_query() -> None:
    result = compose([SubgraphSource(n, f"http://{n}.local/graphql", _sdl(n)) for n in SCHEMAS])
    assert result.errors == [], [str(e) for e in result.errors]
    assert result.supergraph_sdl is not None
    assert 'shipping: Int! @join__field(graph: REVIEWS, requires: "weight")' in result.supergraph_sdl
    gateway = Gateway.from_supergraph_sdl(result.supergraph_sdl)
    transport = InProcessTransport()
    outcome = await gateway.execute(
        GraphQLRequest("{ products { name reviews shipping } reviewCount }"), transport=transport, headers={}
    )
    assert outcome.errors == []
    assert outcome.data == {
        "products": [
            {"name": "Kettle", "reviews": ["Boils fast"], "shipping": 6},
            {"name": "Toaster", "reviews": ["Burns bread", "Crisp"], "shipping": 10},
        ],
        "reviewCount": 3,
    }
    assert sorted(transport.calls) == ["products", "reviews", "reviews"]
