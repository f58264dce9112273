"""Supergraph parsing and API schema derivation."""

from gateway.supergraph.model import (
    AuthRequirements,
    FieldDef,
    FieldInGraph,
    KeyInfo,
    Subgraph,
    Supergraph,
    SupergraphError,
    TypeDef,
    TypeInGraph,
)
from gateway.supergraph.parser import parse_field_set, parse_supergraph

__all__ = [
    "AuthRequirements",
    "FieldDef",
    "FieldInGraph",
    "KeyInfo",
    "Subgraph",
    "Supergraph",
    "SupergraphError",
    "TypeDef",
    "TypeInGraph",
    "parse_field_set",
    "parse_supergraph",
]
