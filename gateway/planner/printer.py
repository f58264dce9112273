"""Readable plan printouts, in the spirit of Apollo's ``QueryPlan { ... }`` text."""

from __future__ import annotations

from dataclasses import replace

from gateway.planner.nodes import (
    DeferNode,
    FetchNode,
    FlattenNode,
    ParallelNode,
    Plan,
    PlanNode,
    SelSet,
    SequenceNode,
    SubscriptionNode,
    print_path,
)


def print_plan(node: Plan | DeferNode | None) -> str:
    """Print a plan tree (``None``: an operation answered by the gateway alone)."""
    lines = ["QueryPlan {"]
    if node is not None:
        if isinstance(node, DeferNode):
            body = _defer(node, 1)
        else:
            body = _subscription(node, 1) if isinstance(node, SubscriptionNode) else _node(node, 1)
        body[-1] += ","
        lines.extend(body)
    lines.append("}")
    return "\n".join(lines)


def _subscription(node: SubscriptionNode, indent: int) -> list[str]:
    """``Subscription { Primary: {...}, Rest: {...} }`` as Apollo prints it."""
    pad = "  " * indent
    out = [pad + "Subscription {", pad + "  Primary: {"]
    primary = _node(node.primary, indent + 2)
    primary[-1] += ";"
    out.extend(primary)
    out.append(pad + "  },")
    if node.rest is not None:
        out.append(pad + "  Rest: {")
        rest = _node(node.rest, indent + 2)
        rest[-1] += ","
        out.extend(rest)
        out.append(pad + "  },")
    out.append(pad + "}")
    return out


def _defer(node: DeferNode, indent: int) -> list[str]:
    """``Defer { Primary {...}, [Deferred(...) {...}, ...] }`` (Apollo's shape)."""
    pad = "  " * indent
    out = [pad + "Defer {", pad + "  Primary {"]
    if node.primary is not None:
        primary = _node(node.primary, indent + 2)
        primary[-1] += ","
        out.extend(primary)
    out.extend([pad + "  },", pad + "  ["])
    for d in node.deferred:
        depends = "primary" if d.depends is None else str(d.depends)
        label = f', label: "{d.label}"' if d.label is not None else ""
        out.append(pad + f'    Deferred(id: {d.id}, depends: {depends}, path: "{print_path(d.path)}"{label}) {{')
        if d.node is not None:
            sub = _node(d.node, indent + 3)
            sub[-1] += ","
            out.extend(sub)
        out.append(pad + "    },")
    out.extend([pad + "  ]", pad + "}"])
    return out


def _node(node: PlanNode, indent: int) -> list[str]:
    pad = "  " * indent
    if isinstance(node, SequenceNode | ParallelNode):
        name = "Sequence" if isinstance(node, SequenceNode) else "Parallel"
        out = [pad + name + " {"]
        for child in node.nodes:
            sub = _node(child, indent + 1)
            sub[-1] += ","
            out.extend(sub)
        out.append(pad + "}")
        return out
    fetch = node.node if isinstance(node, FlattenNode) else node
    if isinstance(fetch, FetchNode) and fetch.conditions:
        # printed like Apollo's condition nodes: Include(if: $x) / Skip(if: $x) around the fetch
        (directive, value), *rest = fetch.conditions
        bare = replace(fetch, conditions=tuple(rest))
        unconditioned = FlattenNode(node.path, bare) if isinstance(node, FlattenNode) else bare
        flag = f"${value}" if isinstance(value, str) else str(value).lower()
        out = [pad + f"{directive.capitalize()}(if: {flag}) {{"]
        out.extend(_node(unconditioned, indent + 1))
        out.append(pad + "}")
        return out
    if isinstance(node, FlattenNode):
        path = print_path(node.path)
        out = [pad + f'Flatten(path: "{path}") {{']
        sub = _node(node.node, indent + 1)
        sub[-1] += ","
        out.extend(sub)
        out.append(pad + "}")
        return out
    assert isinstance(node, FetchNode)
    out = [pad + f'Fetch(service: "{node.subgraph}") {{']
    inner = "  " * (indent + 1)
    if node.requires is not None:
        reqs = SelSet()
        seen: set[int] = set()
        for rep in node.requires.values():
            if id(rep) in seen:
                continue
            seen.add(id(rep))
            frag = reqs.add_fragment(rep.typename)
            frag.add_field("__typename", "__typename")
            for key, item in rep.selection.items.items():
                frag.items.setdefault(key, item)
        out.append(inner + "{")
        out.extend(reqs.print_pretty(indent + 2))
        out.append(inner + "} =>")
    out.append(inner + ("{" if node.operation_kind == "query" else node.operation_kind + " {"))
    out.extend(node.selection.print_pretty(indent + 2))
    out.append(inner + "}")
    out.append(pad + "}")
    return out
