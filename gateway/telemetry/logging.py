"""Log formats: ``text`` (the development default) or ``json``, one object per line.

A JSON line has ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message`` and the
record's structured ``fields`` (``logger.info(msg, extra={"fields": {...}})``), plus
``exception`` with the traceback text when one is logged. The per-request line of the
gateway (:mod:`gateway.telemetry.instrument`) and the subgraphs uses such fields.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = ["CORRELATION_ID", "LOG_FORMATS", "TEXT_FORMAT", "CorrelationFilter", "JsonFormatter", "configure_logging"]

CORRELATION_ID: ContextVar[str | None] = ContextVar("dpp_correlation_id", default=None)
"""The ``x-request-id`` of the request being handled (set per request by the gateway and the subgraphs)."""

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class CorrelationFilter(logging.Filter):
    """Adds the current request's correlation id to every record logged while it is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        correlation_id = CORRELATION_ID.get()
        if correlation_id is not None:
            fields = getattr(record, "fields", None)
            if not isinstance(fields, dict):
                record.fields = {"requestId": correlation_id}
            elif "requestId" not in fields:
                record.fields = {"requestId": correlation_id, **fields}
        return True


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """The classic text line, with the structured fields appended as ``key=value``."""

    def __init__(self, fmt: str = TEXT_FORMAT) -> None:
        super().__init__(fmt)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict) and fields:
            text += " " + " ".join(f"{k}={v}" for k, v in fields.items() if v is not None and v != "")
        return text


def formatter_for(log_format: str, text_format: str = TEXT_FORMAT) -> logging.Formatter:
    """The formatter of ``log_format`` (``text`` or ``json``)."""
    if log_format == "json":
        return JsonFormatter()
    if log_format == "text":
        return TextFormatter(text_format)
    raise ValueError(f"log_format: must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")


def configure_logging(level: str, log_format: str = "text", text_format: str = TEXT_FORMAT) -> None:
    """Configure the root logger of a server process: level, formatter, correlation ids on every line."""
    logging.basicConfig(level=level.upper())
    formatter = formatter_for(log_format, text_format)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)
        if not any(isinstance(f, CorrelationFilter) for f in handler.filters):
            handler.addFilter(CorrelationFilter())
