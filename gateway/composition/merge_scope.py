"""What the parts of the merge step share (:mod:`.merge`, :mod:`.merge_types`, :mod:`.merge_fields`,
:mod:`.merge_values`): the graphs being merged, the subtype relation between their types, and the
errors and hints found so far; and how messages name subgraphs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .errors import CompositionError, CompositionHint
from .supergraph import Graph

Subtype = Callable[[str, str], bool]


@dataclass(frozen=True, slots=True)
class MergeScope:
    """One composition's merge: its graphs (``enum_of``: subgraph name -> ``join__Graph`` value),
    ``is_subtype`` (``sub`` implements or is a member of ``sup`` somewhere), and the problems found,
    collected instead of raised."""

    graphs: list[Graph]
    enum_of: dict[str, str]
    is_subtype: Subtype
    errors: list[CompositionError]
    hints: list[CompositionHint]


def fmt_subgraphs(names: list[str]) -> str:
    """``subgraph "a"`` or ``subgraphs "a", "b" and "c"``, as the reference composer's messages say."""
    if len(names) == 1:
        return f'subgraph "{names[0]}"'
    return "subgraphs " + ", ".join(f'"{n}"' for n in names[:-1]) + f' and "{names[-1]}"'
