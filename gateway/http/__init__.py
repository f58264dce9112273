"""The gateway's HTTP edge: GraphQL over HTTP, health checks, the runtime swapped on reload."""

from gateway.http.app import DEBUG_PLAN_HEADER, REQUEST_ID_HEADER, create_app
from gateway.http.state import GatewayState, LoadedSupergraph, RejectedSupergraph, sdl_digest

__all__ = [
    "DEBUG_PLAN_HEADER",
    "REQUEST_ID_HEADER",
    "GatewayState",
    "LoadedSupergraph",
    "RejectedSupergraph",
    "create_app",
    "sdl_digest",
]
