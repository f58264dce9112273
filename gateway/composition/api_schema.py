"""The API schema of a supergraph SDL, for ``gateway schema diff`` and the composition tests.

There is one derivation, the one ``gateway serve`` serves (:mod:`gateway.supergraph.api_schema`):
the supergraph is parsed as the gateway parses it and its API schema returned.
"""

from __future__ import annotations

from graphql import GraphQLSchema

from gateway.supergraph import parse_supergraph


def api_schema_from_supergraph(sdl: str) -> GraphQLSchema:
    """The client-facing schema the gateway serves for ``sdl`` (raises ``SupergraphError``)."""
    return parse_supergraph(sdl).api_schema
