"""Satisfiability (placeholder)."""

from __future__ import annotations

from .errors import CompositionError
from .subgraph import Subgraph
from .supergraph import Supergraph


def check_satisfiability(subgraphs: list[Subgraph], supergraph: Supergraph) -> list[CompositionError]:
    """Report fields no query plan can reach."""
    return []
