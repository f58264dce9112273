"""Merging what decorates an element across subgraphs, and the directive definitions of the supergraph.

One element's decorations (description, ``@deprecated``, ``@inaccessible``, ``@tag``, auth
requirements, ``@cost``/``@listSize``, composed directives) combine into one
(:func:`merge_decorations`); its ``@join__directive`` applications are grouped per graph
(:func:`merge_join_directives`); the supergraph keeps the composed directives' definitions
and the executable directives every subgraph defines (:func:`merge_directive_definitions`).
"""

from __future__ import annotations

from collections import Counter

from gateway.supergraph.api_schema import EXECUTABLE_LOCATIONS

from .decorations import and_requirements, merge_cost, merge_list_size
from .subgraph_model import Decorations, JoinDirective, SubgraphSchema
from .supergraph import SDirective


def pick_description(descs: list[str | None]) -> str | None:
    """The description most subgraphs agree on (the first seen on a tie)."""
    present = [d for d in descs if d]
    if not present:
        return None
    counts = Counter(present)
    best = max(counts.values())
    return next(d for d in present if counts[d] == best)


def merge_decorations(decos: list[Decorations]) -> Decorations:
    """Combine the decorations one element has in several subgraphs."""
    out = Decorations(description=pick_description([d.description for d in decos]))
    for d in decos:
        out.deprecated = out.deprecated or d.deprecated
        out.inaccessible = out.inaccessible or d.inaccessible
        out.tags.extend(t for t in d.tags if t not in out.tags)
        out.authenticated = out.authenticated or d.authenticated
        out.composed.extend(c for c in d.composed if c not in out.composed)
        out.specified_by = out.specified_by or d.specified_by
    out.scopes = combine_requirements([d.scopes for d in decos])
    out.cost = merge_cost([d.cost for d in decos])
    out.list_size = merge_list_size([d.list_size for d in decos])
    out.cost_first = next((d.cost_first for d in decos if d.cost is not None and d.list_size is not None), False)
    out.policies = combine_requirements([d.policies for d in decos])
    return out


def merge_join_directives(per_graph: list[tuple[str, Decorations]]) -> list[JoinDirective]:
    """``@join__directive`` applications of one element: one per distinct arguments, with the graphs
    that apply it, grouped by directive name in first-seen order (as the reference composer does)."""
    out: list[JoinDirective] = []
    for graph, d in per_graph:
        for jd in d.join_directives:
            for i, existing in enumerate(out):
                if existing.name == jd.name and existing.args == jd.args:
                    out[i] = JoinDirective(existing.name, existing.args, (*existing.graphs, graph))
                    break
            else:
                out.append(JoinDirective(jd.name, jd.args, (graph,)))
    names = list(dict.fromkeys(j.name for j in out))
    return [j for n in names for j in out if j.name == n]


def combine_requirements(reqs: list[list[list[str]] | None]) -> list[list[str]] | None:
    """AND the ``@requiresScopes`` / ``@policy`` requirements several subgraphs put on one element.

    One subgraph's requirement is kept as written; combined ones are normalised the way
    the reference composer prints them (each alternative sorted, shorter alternatives first).
    """
    present = [r for r in reqs if r is not None]
    if not present:
        return None
    distinct: list[list[list[str]]] = []
    for r in present:
        if r not in distinct:
            distinct.append(r)
    if len(distinct) == 1:
        return distinct[0]
    combined: list[list[str]] | None = None
    for r in distinct:
        combined = and_requirements(combined, r)
    assert combined is not None
    alternatives = {tuple(sorted(set(alt))) for alt in combined}
    return [list(alt) for alt in sorted(alternatives, key=lambda alt: (len(alt), alt))]


def merge_directive_definitions(subgraphs: list[SubgraphSchema]) -> dict[str, SDirective]:
    """The supergraph's directive definitions: composed ones, and executable ones every subgraph defines."""
    out: dict[str, SDirective] = {}
    for s in subgraphs:
        for c in s.composed:
            if c.name not in out:
                out[c.name] = SDirective(c.definition, c.link_url, c.link_import)
    # Executable directives (used in operations) survive when every subgraph defines them,
    # with the locations they all accept.
    exec_names: set[str] | None = None
    for s in subgraphs:
        mine = {n for n, d in s.directive_defs.items() if executable_locations(d)}
        exec_names = mine if exec_names is None else exec_names & mine
    for n in sorted(exec_names or ()):
        if n in out:
            continue
        locs = executable_locations(subgraphs[0].directive_defs[n])
        for s in subgraphs[1:]:
            theirs = set(executable_locations(s.directive_defs[n]))
            locs = [loc for loc in locs if loc in theirs]
        if locs:
            out[n] = SDirective(subgraphs[0].directive_defs[n], locations=locs)
    return out


def executable_locations(d: object) -> list[str]:
    """The locations of a directive definition that are executable (usable in operations)."""
    return [loc.value for loc in getattr(d, "locations", ()) if loc.value in EXECUTABLE_LOCATIONS]


__all__ = [
    "combine_requirements",
    "executable_locations",
    "merge_decorations",
    "merge_directive_definitions",
    "merge_join_directives",
    "pick_description",
]
