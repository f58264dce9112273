"""Merging subgraph answers into the one raw data tree of an operation (or subscription event)."""

from __future__ import annotations

from typing import Any

MISSING: Any = object()
"""A key absent from a dict (``dict.get(key, MISSING)``), told apart from a present null."""


def merge(target: dict[str, Any], source: dict[str, Any], object_types: frozenset[str]) -> None:
    """Deep-merge a subgraph answer into the data tree.

    ``__typename`` is only replaced when the known one is not a concrete type
    (an @interfaceObject answers with its interface's name).
    """
    if target.keys().isdisjoint(source):
        # every key is new (an entity answer merged into its key fields, the first root answer):
        # what the loop below does for each MISSING key, in C
        target.update(source)
        return
    for key, value in source.items():
        existing = target.get(key, MISSING)
        if existing is value:
            continue  # the same object reached twice (entities shared by several owners): nothing to add
        if existing is MISSING or existing is None:
            target[key] = value
        elif key == "__typename":
            if existing not in object_types and value in object_types:
                target[key] = value
        elif isinstance(existing, dict) and isinstance(value, dict):
            merge(existing, value, object_types)
        elif isinstance(existing, list) and isinstance(value, list) and len(existing) == len(value):
            _merge_lists(existing, value, object_types)
        elif value is not None:
            target[key] = value


def _merge_lists(target: list[Any], source: list[Any], object_types: frozenset[str]) -> None:
    for i, value in enumerate(source):
        existing = target[i]
        if isinstance(existing, dict) and isinstance(value, dict):
            merge(existing, value, object_types)
        elif isinstance(existing, list) and isinstance(value, list) and len(existing) == len(value):
            _merge_lists(existing, value, object_types)
        elif existing is None:
            target[i] = value
