"""Subgraph health for ``/health/ready``: circuit states and, optionally, periodic probes.

A subgraph is unhealthy while its circuit is open, or when its last probe (a
``{ __typename }`` query sent through the transport, so through its breaker too)
failed. With ``check`` on, an unhealthy subgraph makes the gateway not ready (503);
with it off (the default) the states are still reported and the status says
``warn``, because a gateway missing one subgraph still answers partial data, and
taking every replica out of a load balancer for it would answer nothing at all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.contracts import SubgraphTransport
from gateway.resilience.breaker import OPEN, CircuitSnapshot

logger = logging.getLogger("gateway.resilience")

PROBE_QUERY = "{__typename}"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """The last probe of one subgraph."""

    ok: bool
    at: datetime
    error: str | None = None


class SubgraphHealth:
    """Circuit states of a transport plus probe results, judged per subgraph."""

    def __init__(self, transport: SubgraphTransport, *, check: bool = False, probe_interval: float = 0.0) -> None:
        self._transport = transport
        self.check = check
        self.probe_interval = probe_interval
        self._probes: dict[str, ProbeResult] = {}

    def circuits(self) -> dict[str, CircuitSnapshot]:
        """The transport's circuit states (none when it keeps no breakers)."""
        states = getattr(self._transport, "circuit_states", None)
        return states() if callable(states) else {}

    def report(self) -> tuple[bool, dict[str, Any]]:
        """(every subgraph healthy, a JSON-ready entry per known subgraph)."""
        healthy = True
        out: dict[str, Any] = {}
        circuits = self.circuits()
        for name in sorted(set(circuits) | set(self._probes)):
            entry: dict[str, Any] = {}
            ok = True
            circuit = circuits.get(name)
            if circuit is not None:
                entry["circuit"] = circuit.as_dict()
                ok = circuit.state != OPEN
            probe = self._probes.get(name)
            if probe is not None:
                entry["probe"] = {"ok": probe.ok, "at": probe.at.isoformat()}
                if probe.error is not None:
                    entry["probe"]["error"] = probe.error
                ok = ok and probe.ok
            entry["status"] = "pass" if ok else "fail"
            healthy = healthy and ok
            out[name] = entry
        return healthy, out

    async def probe(self, urls: Mapping[str, str]) -> None:
        """Probe every subgraph once, concurrently."""
        await asyncio.gather(*(self._probe_one(name, url) for name, url in urls.items()))

    async def _probe_one(self, name: str, url: str) -> None:
        try:
            answer = await self._transport.fetch(name, url, {"query": PROBE_QUERY}, {})
        except Exception as exc:  # a transport should not raise; a probe must not die of it
            self._record(name, False, type(exc).__name__)
            return
        data = answer.body.get("data") if isinstance(answer.body, dict) else None
        if answer.error is not None:
            self._record(name, False, answer.error)
        elif not isinstance(data, dict) or not data.get("__typename"):
            self._record(name, False, f"no __typename in the answer (HTTP {answer.status})")
        else:
            self._record(name, True, None)

    def _record(self, name: str, ok: bool, error: str | None) -> None:
        previous = self._probes.get(name)
        if previous is not None and previous.ok != ok:
            logger.log(logging.INFO if ok else logging.WARNING, "subgraph %s probe: %s",
                       name, "healthy again" if ok else f"failing ({error})")
        self._probes[name] = ProbeResult(ok, datetime.now(UTC), error)

    async def run(self, urls: Callable[[], Mapping[str, str]]) -> None:
        """Probe every ``probe_interval`` seconds until cancelled (returns at once when 0)."""
        if self.probe_interval <= 0:
            return
        while True:
            try:
                await self.probe(urls())
            except Exception:
                logger.exception("subgraph probes: unexpected error")
            await asyncio.sleep(self.probe_interval)
