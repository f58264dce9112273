"""Merging one field of an object or interface type across the subgraphs that define it.

The merged type (the most general output type), ``@external`` checks, ``@override``
(full and progressive), ``@fromContext`` arguments, and the ``@join__field`` facts that
tell the query planner which subgraph resolves the field.
"""

from __future__ import annotations

import re

from .errors import CompositionError
from .fieldset import FieldSetSyntaxError, top_level_fields
from .merge_directives import merge_decorations, merge_join_directives
from .merge_scope import MergeScope
from .merge_values import merge_arguments, merge_type_refs
from .subgraph_model import SubgraphField, SubgraphSchema
from .supergraph import ComposedContextArgument, JoinField, SField
from .typeref import TypeRef


def merge_field(
    scope: MergeScope, tname: str, fname: str, fdefs: list[tuple[SubgraphSchema, SubgraphField]], type_graphs: list[str]
) -> SField | None:
    """``tname.fname`` as the subgraphs of ``fdefs`` define it (None after a type mismatch error)."""
    coord = f"{tname}.{fname}"
    resolving = [(s, f) for s, f in fdefs if not f.external] or fdefs
    merged_type: TypeRef | None = resolving[0][1].type
    for _, f in resolving[1:]:
        assert merged_type is not None
        nxt = merge_type_refs(merged_type, f.type, True, scope.is_subtype)
        if nxt is None:
            detail = ", ".join(f'type "{ff.type}" in subgraph "{ss.name}"' for ss, ff in resolving)
            scope.errors.append(
                CompositionError(
                    "FIELD_TYPE_MISMATCH",
                    f'Type of field "{coord}" is incompatible across subgraphs: it has {detail}.',
                    tuple(ss.name for ss, _ in resolving),
                    coord,
                )
            )
            return None
        merged_type = nxt
    assert merged_type is not None
    for s, f in fdefs:
        # An @external declaration must repeat the field's type exactly (the reference rejects
        # even a nullability difference, in either direction). Without any base definition
        # there is nothing to compare with (EXTERNAL_MISSING_ON_BASE says so).
        if f.external and f.type != merged_type and any(not x.external for _, x in fdefs):
            scope.errors.append(
                CompositionError(
                    "EXTERNAL_TYPE_MISMATCH",
                    f'Type of field "{coord}" is incompatible across subgraphs (where marked @external): '
                    f'it has type "{merged_type}" in some subgraphs but type "{f.type}" in subgraph "{s.name}".',
                    (s.name,),
                    coord,
                )
            )
    type_differs = len({str(f.type) for _, f in fdefs}) > 1
    by_sg = {s.name: f for s, f in fdefs}

    # Overrides: which subgraphs gave the field away, fully or progressively (label).
    overridden: dict[str, str | None] = {}
    override_targets: dict[str, bool] = {}
    known = {g.name for g in scope.graphs}
    for s, f in fdefs:
        if f.override is None:
            continue
        if f.override_label is not None and not _valid_override_label(f.override_label):
            scope.errors.append(
                CompositionError(
                    "OVERRIDE_LABEL_INVALID",
                    f'Invalid @override label "{f.override_label}" on field "{coord}" on subgraph "{s.name}": '
                    "labels must start with a letter and after that may contain alphanumerics, underscores, "
                    'minuses, colons, periods, or slashes. Alternatively, labels may be of the form "percent(x)" '
                    "where x is a float between 0-100 inclusive.",
                    (s.name,),
                    coord,
                )
            )
            continue
        src = f.override
        if src == s.name:
            scope.errors.append(
                CompositionError(
                    "OVERRIDE_FROM_SELF_ERROR",
                    f'Source and destination subgraphs "{s.name}" are the same for overridden field "{coord}"',
                    (s.name,),
                    coord,
                )
            )
            continue
        src_def = by_sg.get(src)
        if src_def is not None and src_def.override is not None:
            scope.errors.append(
                CompositionError(
                    "OVERRIDE_SOURCE_HAS_OVERRIDE",
                    f'Field "{coord}" on subgraph "{s.name}" is also marked with directive @override in '
                    f'subgraph "{src}". Only one @override directive is allowed per field.',
                    (s.name, src),
                    coord,
                )
            )
            continue
        override_targets[s.name] = src_def is not None
        if src_def is not None and not src_def.external:
            overridden[src] = f.override_label

    joins: list[JoinField] = []
    resolved_in: list[str] = []
    needs = set(by_sg) != set(type_graphs) or type_differs
    for s, f in fdefs:
        g = scope.enum_of[s.name]
        if s.name in overridden:
            label = overridden[s.name]
            needs = True
            if label is not None:
                joins.append(JoinField(g, type=str(f.type) if type_differs else None, override_label=label))
                resolved_in.append(s.name)
            elif _still_used(s, tname, fname):
                joins.append(JoinField(g, type=str(f.type) if type_differs else None, used_overridden=True))
            continue
        jf = JoinField(
            g,
            requires=f.requires,
            provides=f.provides,
            type=str(f.type) if type_differs else None,
            external=f.external,
            override=f.override if s.name in override_targets else None,
            override_label=f.override_label if override_targets.get(s.name) else None,
            context_arguments=_context_arguments(s, f),
        )
        if jf.context_arguments:
            needs = True
        # An override naming no subgraph of this composition changes nothing by itself: it
        # is printed only when the field needs @join__field anyway (as the reference does).
        if f.requires or f.provides or f.external or (jf.override is not None and jf.override in known):
            needs = True
        joins.append(jf)
        if not f.external:
            resolved_in.append(s.name)
    # Arguments filled from a @context are the subgraph's business, not the client's.
    client_args = [(s, {n: a for n, a in f.args.items() if a.from_context is None}) for s, f in resolving]
    sf = SField(
        fname,
        merged_type,
        merge_arguments(scope, coord, client_args),
        merge_decorations([f.deco for _, f in fdefs]),
        joins if needs else [],
        resolved_in,
    )
    sf.deco.join_directives = merge_join_directives([(scope.enum_of[s.name], f.deco) for s, f in fdefs])
    return sf


_LABEL = re.compile(r"[A-Za-z][A-Za-z0-9_\-:./]*")
_PERCENT = re.compile(r"percent\((\d{1,3}(?:\.\d+)?)\)")


def _valid_override_label(label: str) -> bool:
    """Progressive override labels: an identifier-like flag name, or ``percent(x)`` with 0 <= x <= 100."""
    m = _PERCENT.fullmatch(label)
    if m is not None:
        return float(m.group(1)) <= 100
    return _LABEL.fullmatch(label) is not None


def _context_arguments(s: SubgraphSchema, f: SubgraphField) -> list[ComposedContextArgument]:
    """``join__ContextArgument``s for the ``@fromContext`` arguments of one subgraph's field."""
    out: list[ComposedContextArgument] = []
    for a in f.args.values():
        if a.from_context is None:
            continue
        m = re.match(r"\s*\$([_A-Za-z][_0-9A-Za-z]*)", a.from_context)
        if m is None:
            continue
        out.append(ComposedContextArgument(f"{s.name}__{m.group(1)}", a.name, str(a.type), a.from_context[m.end() :]))
    return out


def _still_used(s: SubgraphSchema, tname: str, fname: str) -> bool:
    """Whether a subgraph still needs a field it gave away with ``@override`` (``usedOverridden``).

    It does when the field is part of one of its keys, is required by one of its
    ``@requires``, or implements a field of an interface the type implements there.
    """
    t = s.types.get(tname)
    if t is None:
        return False
    sets = [k.fields for k in t.keys] + [f.requires for f in t.fields.values() if f.requires]
    for text in sets:
        try:
            if fname in top_level_fields(text):
                return True
        except FieldSetSyntaxError:
            continue
    return any(fname in s.types[i].fields for i in t.interfaces if i in s.types)


__all__ = ["merge_field"]
