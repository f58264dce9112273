"""The health endpoints: ``/health``, ``/health/live`` and ``/health/ready`` (``/metrics`` is the
telemetry's, gateway/telemetry)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gateway.http.bodies import json_response
from gateway.http.state import GatewayState
from gateway.resilience.health import SubgraphHealth


class HealthEndpoint:
    """``/health``, ``/health/live``, ``/health/ready``: 200 once a supergraph is loaded, 503 before.

    ``/health/ready`` and ``/health`` also report each subgraph's circuit (and probe) from
    ``subgraphs``; when its ``check`` is on, an unhealthy subgraph makes them answer 503,
    otherwise the status says ``warn``. ``/health/live`` only looks at the supergraph (cheap).
    """

    def __init__(self, state: GatewayState, subgraphs: SubgraphHealth | None = None) -> None:
        self._state = state
        self._subgraphs = subgraphs

    async def live(self, request: Request) -> Response:
        """Whether a supergraph is loaded, which one, and the last refused one."""
        return self._answer(None)

    async def handle(self, request: Request) -> Response:
        """What :meth:`live` says, plus the subgraphs' health."""
        return self._answer(self._subgraphs)

    def _answer(self, subgraphs: SubgraphHealth | None) -> Response:
        loaded = self._state.current
        body: dict[str, Any] = {"status": "pass" if loaded is not None else "fail"}
        ready = loaded is not None
        if subgraphs is not None:
            healthy, entries = subgraphs.report()
            if entries:
                body["subgraphs"] = entries
            if not healthy and ready:
                ready = not subgraphs.check
                body["status"] = "warn" if ready else "fail"
        if loaded is not None:
            body["supergraph"] = {"sha256": loaded.sha256, "loadedAt": loaded.loaded_at.isoformat()}
        rejected = self._state.last_rejected
        if rejected is not None:
            # The digest only: the reason may quote SDL, which the server log holds.
            body["rejected"] = {"sha256": rejected.sha256, "rejectedAt": rejected.rejected_at.isoformat()}
        return json_response(body, 200 if ready else 503, headers={"cache-control": "no-store"})
