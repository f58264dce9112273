"""The fetch node of one fetch group: the subgraph operation printed once, at planning time."""

from __future__ import annotations

import re

from gateway.planner.groups import FetchGroup
from gateway.planner.nodes import FetchNode, FlattenNode, PlanNode, alias_conflicts
from gateway.planner.operation import NormalizedOperation


def fetch_node(g: FetchGroup, op: NormalizedOperation) -> PlanNode:
    """``g`` as a fetch (root fetches) or a flatten around one (entity fetches at ``g.path``)."""
    kind = "query" if g.is_entity else op.kind
    renamed = alias_conflicts([g.selset])  # first: it may alias fields of the selection
    body = g.selset.print_compact()
    # only what the printed selection uses: a subgraph rejects a declared variable it never sees
    # (a fragment this subgraph cannot return, or one left empty, is not printed)
    used = tuple(v for v in op.variables if v in g.variables and re.search(rf"\${v}(?!\w)", body))
    var_defs = [f"${v}:{op.variables[v].type}{op.variables[v].default_text}" for v in used]
    var_defs.extend(f"${c.name}:{c.type}" for c in g.context)
    if g.is_entity:
        defs = "($representations:[_Any!]!" + "".join("," + d for d in var_defs) + ")"
        operation = f"query{defs}{{_entities(representations:$representations){{{body}}}}}"
    else:
        defs = ("(" + ",".join(var_defs) + ")") if var_defs else ""
        operation = f"{kind}{defs}{{{body}}}"
    node = FetchNode(
        subgraph=g.subgraph,
        operation=operation,
        operation_kind=kind,
        variable_usages=used,
        selection=g.selset,
        requires=dict(g.reps) if g.is_entity else None,
        root_fields=tuple(g.root_fields),
        id=g.id,
        renamed=renamed,
        context=tuple(g.context),
        # a fetch (root or entity) whose every selection is excluded by @skip/@include is not sent
        conditions=tuple(sorted(g.conds, key=lambda c: (c[0], str(c[1])))) if g.conds else (),
    )
    if g.is_entity:
        return FlattenNode(path=g.path, node=node)
    return node
