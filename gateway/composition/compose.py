"""The composition pipeline: parse -> validate subgraphs -> merge -> validate supergraph -> print."""

from __future__ import annotations

from dataclasses import dataclass, field

from .auth import check_auth_placement, check_transitive_auth, propagate_auth_to_interfaces
from .errors import CompositionError, CompositionHint
from .merge import Merger
from .printer import print_supergraph
from .satisfiability import check_satisfiability
from .subgraph import parse_subgraph
from .subgraph_model import SubgraphSchema, SubgraphSource
from .supergraph import ComposedSupergraph
from .validate import validate_subgraphs, validate_supergraph


@dataclass(slots=True)
class CompositionResult:
    """Either ``supergraph_sdl`` (success) or a non-empty ``errors`` list."""

    supergraph_sdl: str | None = None
    errors: list[CompositionError] = field(default_factory=list)
    hints: list[CompositionHint] = field(default_factory=list)
    supergraph: ComposedSupergraph | None = None

    @property
    def ok(self) -> bool:
        """Whether composition succeeded."""
        return self.supergraph_sdl is not None and not self.errors


def compose(subgraphs: list[SubgraphSource]) -> CompositionResult:
    """Compose Federation 1 and 2 subgraphs into a supergraph (join spec v0.3, or v0.5 when needed)."""
    errors: list[CompositionError] = []
    names = [s.name for s in subgraphs]
    for n in sorted({n for n in names if names.count(n) > 1}):
        errors.append(CompositionError("INVALID_SUBGRAPH_NAME", f'More than one subgraph is named "{n}".', (n,)))
    if not subgraphs:
        errors.append(CompositionError("NO_SUBGRAPHS", "No subgraphs to compose."))
    parsed: list[SubgraphSchema] = []
    for src in subgraphs:
        sg = parse_subgraph(src, errors)
        if sg is not None:
            parsed.append(sg)
    if errors:
        return CompositionResult(errors=errors)
    errors.extend(validate_subgraphs(parsed))
    errors.extend(check_auth_placement(parsed))
    if errors:
        return CompositionResult(errors=errors)
    merger = Merger(parsed)
    supergraph = merger.merge()
    errors.extend(merger.errors)
    # Post-merge rules run even after merge errors, so that users see every problem at once.
    errors.extend(validate_supergraph(parsed, supergraph))
    errors.extend(check_transitive_auth(supergraph))
    if not errors:
        errors.extend(check_satisfiability(parsed, supergraph))
    if errors:
        return CompositionResult(errors=errors, hints=merger.hints)
    propagate_auth_to_interfaces(supergraph)
    return CompositionResult(print_supergraph(supergraph), [], merger.hints, supergraph)
