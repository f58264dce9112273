"""Federation validation rules (placeholder, filled in below)."""

from __future__ import annotations

from .errors import CompositionError
from .subgraph import Subgraph
from .supergraph import Supergraph


def validate_subgraphs(subgraphs: list[Subgraph]) -> list[CompositionError]:
    """Rules checkable on each subgraph alone."""
    return []


def validate_supergraph(subgraphs: list[Subgraph], supergraph: Supergraph) -> list[CompositionError]:
    """Rules that need every subgraph."""
    return []
