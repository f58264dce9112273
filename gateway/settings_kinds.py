"""How a setting's text (YAML, environment, flag) becomes a value, for the kinds several areas share.

:mod:`gateway.settings_values` and the areas' own config modules (``gateway/resilience/config.py``,
``gateway/cost/config.py``, ``gateway/persisted/config.py``) read booleans, whole counts and
numbers of seconds the same way; each raises ``ValueError``, which the caller turns into a
message naming the setting.
"""

from __future__ import annotations

from typing import Any

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def parse_bool(value: Any) -> bool:
    """``true`` / ``false`` as YAML, the environment or a flag spells them (``1``, ``yes``, ``off`` ...)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(value)


def parse_count(value: Any) -> int:
    """A whole number: ``3``, ``"3"`` or ``3.0``; not a boolean, not ``2.5``."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(value)
    return int(value)


def parse_number(value: Any) -> float:
    """A number (seconds, a ratio, a cost); not a boolean."""
    if isinstance(value, bool):
        raise ValueError(value)
    return float(value)
