"""Federation validation rules, reported with Apollo's error codes.

``validate_subgraphs`` checks what each subgraph states about itself (its keys,
``@requires``, ``@provides`` and ``@external`` against the field sets they name);
``validate_supergraph`` checks what only the set of subgraphs shows (field sharing,
external fields no subgraph resolves, interfaces, inaccessible references).

Each rule family has its module: :mod:`.validate_subgraph` (per subgraph), :mod:`.validate_sharing`,
:mod:`.validate_interfaces`, :mod:`.validate_inaccessible`; field sets are walked by
:mod:`.fieldset_walk`.
"""

from __future__ import annotations

from .errors import CompositionError
from .fieldset_walk import FieldSetProblem, walk_field_set
from .subgraph_model import SubgraphSchema
from .supergraph import ComposedSupergraph
from .validate_inaccessible import check_inaccessible
from .validate_interfaces import check_entity_interfaces, check_interfaces
from .validate_sharing import check_field_sharing
from .validate_subgraph import validate_subgraphs


def validate_supergraph(subgraphs: list[SubgraphSchema], supergraph: ComposedSupergraph) -> list[CompositionError]:
    """Rules that need every subgraph: sharing, externals without a base, interfaces, inaccessible."""
    errors = check_field_sharing(subgraphs, supergraph)
    errors.extend(check_interfaces(supergraph))
    errors.extend(check_entity_interfaces(subgraphs, supergraph))
    errors.extend(check_inaccessible(supergraph))
    q = supergraph.types.get("Query")
    if q is None or not q.fields:
        errors.append(
            CompositionError(
                "NO_QUERIES",
                "No queries found in any subgraph: a supergraph must have a query root type.",
                tuple(s.name for s in subgraphs),
                None,
            )
        )
    return errors


__all__ = ["FieldSetProblem", "validate_subgraphs", "validate_supergraph", "walk_field_set"]
