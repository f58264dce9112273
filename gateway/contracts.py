"""The seams between the gateway's layers.

The HTTP edge (``gateway.http``) turns requests into :class:`GraphQLRequest` and
hands them to a runtime that satisfies :class:`Runtime`. The runtime plans and
executes; it reaches subgraphs only through a :class:`SubgraphTransport`, so the
same runtime serves HTTP requests, subscription events and tests alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    """One GraphQL operation as a client sent it."""

    query: str
    variables: Mapping[str, Any] | None = None
    operation_name: str | None = None
    extensions: Mapping[str, Any] | None = None


@dataclass(slots=True)
class ExecutionOutcome:
    """What a runtime answers: a GraphQL response body plus facts the edge needs.

    ``request_error`` is true when the operation never executed (parse or
    validation failure, unknown operation): the edge answers those with 400 for
    ``application/graphql-response+json``.
    """

    data: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    extensions: dict[str, Any] | None = None
    request_error: bool = False
    operation_type: str | None = None  # "query" | "mutation" | "subscription"
    # The JSON of a data-only response, made once by the edge (gateway/http/bodies.py): an outcome
    # shared by coalesced requests (gateway/coalescing.py) is answered to each of them.
    encoded: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def to_response(self) -> dict[str, Any]:
        """The response body per the GraphQL spec (errors before data is not required)."""
        body: dict[str, Any] = {}
        if self.errors:
            body["errors"] = self.errors
        if not self.request_error:
            body["data"] = self.data
        if self.extensions:
            body["extensions"] = self.extensions
        return body


@dataclass(frozen=True, slots=True)
class SubgraphResponse:
    """A subgraph's decoded answer, or a transport failure described in ``error``."""

    body: dict[str, Any] | None
    status: int = 200
    error: str | None = None
    code: str | None = None  # extensions.code for ``error`` when not the generic fetch failure


@dataclass(frozen=True, slots=True)
class Principal:
    """Who an operation runs for, as the authorization stage needs it.

    Built by the authentication stage at the edge from a verified token and the
    caller's current state in identity (roles, membership, granted policies); the
    runtime only reads it. ``scopes`` are the token's ``scope`` claim plus the scopes
    the caller's roles in the active tenant carry; ``policies`` are the names of the
    ``@policy`` policies identity granted for the active tenant (Casbin). ``user_id``
    and ``tenant_id`` are for audit lines and rate limits, never for decisions.
    """

    authenticated: bool = False
    scopes: frozenset[str] = frozenset()
    policies: frozenset[str] = frozenset()
    user_id: str | None = None
    tenant_id: str | None = None


ANONYMOUS = Principal()


class SubgraphTransport(Protocol):
    """Sends one GraphQL request to one subgraph."""

    async def fetch(
        self,
        subgraph: str,
        url: str,
        payload: Mapping[str, Any],
        headers: Mapping[str, str],
    ) -> SubgraphResponse: ...


class Runtime(Protocol):
    """A loaded supergraph that can answer operations."""

    async def execute(
        self,
        request: GraphQLRequest,
        *,
        transport: SubgraphTransport,
        headers: Mapping[str, str],
        include_plan: bool = False,
        allow_mutations: bool = True,
    ) -> ExecutionOutcome: ...
