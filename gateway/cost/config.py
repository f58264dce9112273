"""Demand-control settings (YAML section ``demand_control``, ``GATEWAY_DEMAND_CONTROL_<KEY>``)."""

from __future__ import annotations

from typing import Any, Protocol

from gateway.settings_kinds import parse_bool, parse_count, parse_number

from .stage import MODES, DemandControlConfig

#: Flat setting name -> its kind.
COST_SETTINGS = {
    "demand_control_mode": "mode",
    "demand_control_max_cost": "number",
    "demand_control_default_list_size": "count",
    "demand_control_expose": "bool",
}
COST_SECTIONS = (("demand_control", "demand_control_"),)
COST_KEYS = {name: f"demand_control.{name.removeprefix('demand_control_')}" for name in COST_SETTINGS}
COST_ENV = {f"GATEWAY_{name.upper()}": name for name in COST_SETTINGS}


class _Settings(Protocol):
    @property
    def demand_control_mode(self) -> str: ...
    @property
    def demand_control_max_cost(self) -> float: ...
    @property
    def demand_control_default_list_size(self) -> int: ...
    @property
    def demand_control_expose(self) -> bool: ...


def coerce_cost(name: str, value: Any) -> Any:
    """``value`` as the type of setting ``name``; ValueError when it cannot be."""
    kind = COST_SETTINGS[name]
    if kind == "bool":
        return parse_bool(value)
    if kind == "count":
        return parse_count(value)
    if kind == "number":
        return parse_number(value)
    mode = str(value).strip().lower()
    if mode not in MODES:
        raise ValueError(value)
    return mode


def check_cost(settings: _Settings) -> str | None:
    """A message naming the first unusable setting, or None."""
    if settings.demand_control_max_cost < 0:
        return "demand_control.max_cost: must not be negative"
    if settings.demand_control_default_list_size < 0:
        return "demand_control.default_list_size: must not be negative"
    return None


def cost_config_from_settings(settings: _Settings) -> DemandControlConfig:
    return DemandControlConfig(
        mode=settings.demand_control_mode,
        max_cost=settings.demand_control_max_cost,
        default_list_size=settings.demand_control_default_list_size,
        expose=settings.demand_control_expose,
    )
