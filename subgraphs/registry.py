"""Where each subgraph's :class:`ServiceDefinition` lives (imported lazily)."""

from __future__ import annotations

import importlib

from subgraphs.common.service import ServiceDefinition

DEFINITIONS: dict[str, str] = {
    "identity": "subgraphs.identity.service:DEFINITION",
    "catalog": "subgraphs.catalog.service:DEFINITION",
    "templates": "subgraphs.templates.service:DEFINITION",
    "passport": "subgraphs.passport.service:DEFINITION",
}


def load_definition(name: str) -> ServiceDefinition:
    """Import and return the definition of subgraph ``name``."""
    module_name, _, attribute = DEFINITIONS[name].partition(":")
    return getattr(importlib.import_module(module_name), attribute)
