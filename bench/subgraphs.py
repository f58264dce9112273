"""Fast federation subgraphs for the gateway benchmark: accounts, reviews, products.

One ASGI app serves the three subgraphs at ``/accounts``, ``/reviews`` and
``/products``. Each answer is computed once with graphql-core and then served from
a cache keyed by the exact request body, so under load the subgraphs cost next to
nothing and the gateway in front of them is what gets measured.

    python bench/subgraphs.py --port 4101            # serve
    python bench/subgraphs.py --supergraph http://127.0.0.1:4101 > supergraph.graphql

The supergraph is written by hand in the join v0.3 format that composition
produces, so that both the Python gateway and Apollo Gateway load the same text.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from graphql import GraphQLSchema, build_schema, graphql

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

USERS = 12
PRODUCTS = 12
REVIEWS_PER_USER = 4

_LOREM = "Sturdy, repairable and honestly documented; the passport lists every material and where it came from. "


def _data() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], list[dict[str, Any]]]:
    users = {
        f"u{i}": {"id": f"u{i}", "name": f"User {i}", "username": f"user{i}", "email": f"user{i}@example.com"}
        for i in range(1, USERS + 1)
    }
    products = {
        f"p{j}": {
            "upc": f"p{j}",
            "name": f"Product {j}",
            "price": 100 * j + 99,
            "weight": 10 * j + 5,
            "description": f"Product {j}. {_LOREM}",
        }
        for j in range(1, PRODUCTS + 1)
    }
    reviews = []
    n = 0
    for i in range(1, USERS + 1):
        for k in range(REVIEWS_PER_USER):
            n += 1
            upc = f"p{(i * 7 + k * 5) % PRODUCTS + 1}"
            reviews.append(
                {"id": f"r{n}", "body": f"Review {n} of {upc} by user{i}. {_LOREM}", "authorId": f"u{i}", "upc": upc}
            )
    return users, products, reviews


_FEDERATION = """
scalar _Any
type _Service { sdl: String }
"""

ACCOUNTS_SDL = (
    _FEDERATION
    + """
type User { id: ID! name: String username: String email: String }
union _Entity = User
type Query {
  users: [User!]!
  user(id: ID!): User
  _entities(representations: [_Any!]!): [_Entity]!
  _service: _Service!
}
"""
)

REVIEWS_SDL = (
    _FEDERATION
    + """
type Review { id: ID! body: String author: User product: Product }
type User { id: ID! reviews: [Review!]! }
type Product { upc: String! reviews: [Review!]! }
union _Entity = User | Product
type Query {
  _entities(representations: [_Any!]!): [_Entity]!
  _service: _Service!
}
"""
)

PRODUCTS_SDL = (
    _FEDERATION
    + """
type Product { upc: String! name: String price: Int weight: Int description: String }
union _Entity = Product
type Query {
  topProducts(first: Int = 5): [Product!]!
  _entities(representations: [_Any!]!): [_Entity]!
  _service: _Service!
}
"""
)

SUPERGRAPH_TEMPLATE = """schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)
{
  query: Query
}

directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE

directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, \
external: Boolean, override: String, usedOverridden: Boolean) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION

directive @join__graph(name: String!, url: String!) on ENUM_VALUE

directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE

directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, \
resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM \
| INPUT_OBJECT | SCALAR

directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION

directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA

scalar join__FieldSet

enum join__Graph {
  ACCOUNTS @join__graph(name: "accounts", url: "{base}/accounts")
  PRODUCTS @join__graph(name: "products", url: "{base}/products")
  REVIEWS @join__graph(name: "reviews", url: "{base}/reviews")
}

scalar link__Import

enum link__Purpose {
  \"\"\"
  `SECURITY` features provide metadata necessary to securely resolve fields.
  \"\"\"
  SECURITY

  \"\"\"
  `EXECUTION` features provide metadata necessary for operation execution.
  \"\"\"
  EXECUTION
}

type Product
  @join__type(graph: PRODUCTS, key: "upc")
  @join__type(graph: REVIEWS, key: "upc")
{
  upc: String!
  name: String @join__field(graph: PRODUCTS)
  price: Int @join__field(graph: PRODUCTS)
  weight: Int @join__field(graph: PRODUCTS)
  description: String @join__field(graph: PRODUCTS)
  reviews: [Review!]! @join__field(graph: REVIEWS)
}

type Query
  @join__type(graph: ACCOUNTS)
  @join__type(graph: PRODUCTS)
  @join__type(graph: REVIEWS)
{
  users: [User!]! @join__field(graph: ACCOUNTS)
  user(id: ID!): User @join__field(graph: ACCOUNTS)
  topProducts(first: Int = 5): [Product!]! @join__field(graph: PRODUCTS)
}

type Review
  @join__type(graph: REVIEWS)
{
  id: ID!
  body: String
  author: User
  product: Product
}

type User
  @join__type(graph: ACCOUNTS, key: "id")
  @join__type(graph: REVIEWS, key: "id")
{
  id: ID!
  name: String @join__field(graph: ACCOUNTS)
  username: String @join__field(graph: ACCOUNTS)
  email: String @join__field(graph: ACCOUNTS)
  reviews: [Review!]! @join__field(graph: REVIEWS)
}
"""

HEAVY_QUERY = """query Heavy {
  users {
    id
    name
    username
    reviews {
      id
      body
      product {
        upc
        name
        price
        weight
        reviews {
          id
          body
          author {
            id
            name
            username
            reviews {
              id
              body
              product {
                upc
                name
                price
                weight
              }
            }
          }
        }
      }
    }
  }
}
"""


def supergraph_sdl(base_url: str) -> str:
    """The supergraph of the three subgraphs served under ``base_url``."""
    return SUPERGRAPH_TEMPLATE.replace("{base}", base_url.rstrip("/"))


def _schemas() -> dict[str, tuple[GraphQLSchema, dict[str, Any]]]:
    users, products, reviews = _data()

    def review_dict(r: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": r["id"],
            "body": r["body"],
            "author": {"__typename": "User", "id": r["authorId"]},
            "product": {"__typename": "Product", "upc": r["upc"]},
        }

    by_author: dict[str, list[dict[str, Any]]] = {}
    by_product: dict[str, list[dict[str, Any]]] = {}
    for r in reviews:
        by_author.setdefault(r["authorId"], []).append(review_dict(r))
        by_product.setdefault(r["upc"], []).append(review_dict(r))

    def accounts_entity(rep: dict[str, Any]) -> Any:
        user = users.get(rep.get("id", ""))
        return None if user is None else {"__typename": "User", **user}

    def reviews_entity(rep: dict[str, Any]) -> Any:
        if rep.get("__typename") == "User" and "id" in rep:
            return {"__typename": "User", "id": rep["id"]}
        if rep.get("__typename") == "Product" and "upc" in rep:
            return {"__typename": "Product", "upc": rep["upc"]}
        return None

    def products_entity(rep: dict[str, Any]) -> Any:
        product = products.get(rep.get("upc", ""))
        return None if product is None else {"__typename": "Product", **product}

    # Nested fields resolve from the parent's key, so a subgraph answers any depth of
    # review -> product -> reviews -> author -> reviews it owns itself.
    reviews_schema = build_schema(REVIEWS_SDL)
    user_type, product_type = reviews_schema.type_map["User"], reviews_schema.type_map["Product"]
    user_type.fields["reviews"].resolve = lambda user, _info: by_author.get(user["id"], [])  # type: ignore[attr-defined]
    product_type.fields["reviews"].resolve = lambda p, _info: by_product.get(p["upc"], [])  # type: ignore[attr-defined]

    return {
        "accounts": (
            build_schema(ACCOUNTS_SDL),
            {
                "users": list(users.values()),
                "user": lambda _info, id: users.get(id),
                "_entities": lambda _info, representations: [accounts_entity(r) for r in representations],
                "_service": {"sdl": ACCOUNTS_SDL},
            },
        ),
        "reviews": (
            reviews_schema,
            {
                "_entities": lambda _info, representations: [reviews_entity(r) for r in representations],
                "_service": {"sdl": REVIEWS_SDL},
            },
        ),
        "products": (
            build_schema(PRODUCTS_SDL),
            {
                "topProducts": lambda _info, first=5: list(products.values())[:first],
                "_entities": lambda _info, representations: [products_entity(r) for r in representations],
                "_service": {"sdl": PRODUCTS_SDL},
            },
        ),
    }


class CachedSubgraphs:
    """The ASGI app: ``POST /<subgraph>`` with a GraphQL JSON body; answers cached per body."""

    def __init__(self) -> None:
        self._schemas = _schemas()
        self._cache: dict[tuple[str, bytes], bytes] = {}
        self.requests = 0
        self.last_headers: dict[str, str] = {}  # of the last request, for tests of header forwarding

    async def _answer(self, name: str, body: bytes) -> tuple[int, bytes]:
        key = (name, body)
        cached = self._cache.get(key)
        if cached is not None:
            return 200, cached
        entry = self._schemas.get(name)
        if entry is None:
            return 404, b'{"errors":[{"message":"no such subgraph"}]}'
        schema, root = entry
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return 400, b'{"errors":[{"message":"invalid JSON"}]}'
        result = await graphql(
            schema,
            payload.get("query", ""),
            root_value=root,
            variable_values=payload.get("variables"),
            operation_name=payload.get("operationName"),
        )
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [e.formatted for e in result.errors]
        encoded = orjson.dumps(out)
        if not result.errors:
            self._cache[key] = encoded
        return 200, encoded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        self.requests += 1
        self.last_headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        status, body = await self._answer(scope["path"].strip("/"), b"".join(chunks))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


def main(argv: list[str] | None = None) -> int:
    """Serve the subgraphs, or print the supergraph for a base URL."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=4101)
    parser.add_argument("--supergraph", metavar="BASE_URL", help="print the supergraph for BASE_URL and exit")
    parser.add_argument("--query", action="store_true", help="print the heavy benchmark query and exit")
    args = parser.parse_args(argv)
    if args.supergraph:
        sys.stdout.write(supergraph_sdl(args.supergraph))
        return 0
    if args.query:
        sys.stdout.write(HEAVY_QUERY)
        return 0
    import uvicorn

    uvicorn.run(
        CachedSubgraphs(), host="127.0.0.1", port=args.port, log_level="warning", access_log=False, lifespan="on"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
