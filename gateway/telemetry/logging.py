"""Log formats: ``text`` (the development default) or ``json``, one object per line.

A JSON line has ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message`` and the
record's structured ``fields`` (``logger.info(msg, extra={"fields": {...}})``), plus
``exception`` with the traceback text when one is logged. The per-request line of the
gateway (:mod:`gateway.telemetry.instrument`) and the subgraphs uses such fields.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = ["LOG_FORMATS", "TEXT_FORMAT", "JsonFormatter", "configure_logging"]

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict) and fields:
            text += " " + " ".join(f"{k}={v}" for k, v in fields.items() if v is not None and v != "")
        return text


def formatter_for(log_format: str) -> logging.Formatter:
    """The formatter of ``log_format`` (``text`` or ``json``)."""
    if log_format == "json":
        return JsonFormatter()
    if log_format == "text":
        return TextFormatter()
    raise ValueError(f"log_format: must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")


def configure_logging(level: str, log_format: str = "text") -> None:
    """Configure the root logger of a server process (replaces its handlers' formatter)."""
    logging.basicConfig(level=level.upper())
    formatter = formatter_for(log_format)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)
