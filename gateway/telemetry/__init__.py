"""Observability of the gateway: Prometheus metrics, OpenTelemetry tracing, structured logs."""

from gateway.telemetry.instrument import InstrumentedTransport, Observation, Telemetry
from gateway.telemetry.logging import JsonFormatter, configure_logging
from gateway.telemetry.metrics import GatewayMetrics
from gateway.telemetry.tracing import Tracing, stage_span

__all__ = [
    "GatewayMetrics",
    "InstrumentedTransport",
    "JsonFormatter",
    "Observation",
    "Telemetry",
    "Tracing",
    "configure_logging",
    "stage_span",
]
