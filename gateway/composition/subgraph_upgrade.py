"""What a subgraph's federation version changes once it is read.

Federation 2: ``@external`` on the key fields of an extension only said "defined elsewhere" (a
Federation 1 habit) and is dropped. Federation 1: the subgraph is upgraded to Federation 2
semantics as Apollo's upgrader does (:func:`_upgrade_fed1`).
"""

from __future__ import annotations

from graphql.language import FieldNode, SelectionSetNode

from .fieldset import FieldSetSyntaxError, parse_field_set, print_selection_set, top_level_fields
from .subgraph_model import SubgraphSchema


def apply_federation_version(sg: SubgraphSchema) -> None:
    """Give ``sg`` (just read) the Federation 2 semantics the rest of composition assumes."""
    if sg.fed2:
        # ``@external`` on the key fields of an extension only said "defined elsewhere"
        # (a Federation 1 habit); the reference composer reads those fields as local.
        for t in sg.types.values():
            if t.extension:
                for k in t.keys:
                    for fname in _top(k.fields):
                        if fname in t.fields:
                            t.fields[fname].external = False
    else:
        _upgrade_fed1(sg)


def _upgrade_fed1(sg: SubgraphSchema) -> None:
    """Read a Federation 1 subgraph with Federation 2 semantics, as Apollo's upgrader does.

    Everything is shareable in Federation 1; ``@external`` on a key field only said
    "defined elsewhere" and means nothing in Federation 2; an ``@external`` field no
    key, requires or provides uses is dropped; ``@requires`` naming local fields keeps
    only the external ones; ``extend type`` carries no extension flag.
    """
    used: set[tuple[str, str]] = set()
    for t in sg.types.values():
        t.extension = t.extends_directive
        for k in t.keys:
            for f in _top(k.fields):
                used.add((t.name, f))
                fd = t.fields.get(f)
                if fd is not None:
                    fd.external = False
        for fd in t.fields.values():
            fd.shareable = True
            if fd.requires:
                for f in _top(fd.requires):
                    used.add((t.name, f))
            if fd.provides:
                target = sg.types.get(fd.type.named)
                for f in _top(fd.provides):
                    used.add((fd.type.named, f))
                    if target is not None:
                        for impl in sg.types.values():
                            if target.name in impl.interfaces:
                                used.add((impl.name, f))
    for t in sg.types.values():
        for fname in list(t.fields):
            fd = t.fields[fname]
            if fd.external and (t.name, fname) not in used:
                del t.fields[fname]
        for fd in t.fields.values():
            if fd.requires:
                # Unknown fields stay, so that validation reports them (REQUIRES_INVALID_FIELDS).
                kept = [f for f in _top(fd.requires) if f not in t.fields or t.fields[f].external]
                fd.requires = _filter_top(fd.requires, kept) or None
            if fd.provides:
                # Federation 1 let @provides name fields the subgraph resolves anyway; those mean nothing.
                target = sg.types.get(fd.type.named)
                if target is not None and target.kind == "object":
                    kept = [f for f in _top(fd.provides) if f not in target.fields or target.fields[f].external]
                    fd.provides = _filter_top(fd.provides, kept) or None
        if t.kind in ("object", "interface") and not t.fields:
            t.fields = {}


def _top(text: str) -> list[str]:
    try:
        return top_level_fields(text)
    except FieldSetSyntaxError:
        return []


def _filter_top(text: str, keep: list[str]) -> str:
    sel = parse_field_set(text)
    kept = tuple(s for s in sel.selections if not isinstance(s, FieldNode) or s.name.value in keep)
    if len(kept) == len(sel.selections):
        return text
    return print_selection_set(SelectionSetNode(selections=kept))
