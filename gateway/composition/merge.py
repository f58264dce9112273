"""Merging subgraph types into supergraph types (Federation 2 rules).

Objects and interfaces take the union of their fields; inputs the intersection;
enums the union, the intersection or require equality depending on where they are
used; unions the union of their members. Every merged element remembers, as
``@join__*`` facts, which subgraph defines and resolves it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from gateway.supergraph.api_schema import EXECUTABLE_LOCATIONS

from .decorations import and_requirements, merge_cost, merge_list_size
from .errors import CompositionError, CompositionHint
from .fieldset import FieldSetSyntaxError, top_level_fields
from .subgraph_model import (
    BUILTIN_SCALARS,
    ArgumentDef,
    Decorations,
    JoinDirective,
    SubgraphField,
    SubgraphSchema,
    SubgraphType,
)
from .supergraph import (
    ComposedContextArgument,
    ComposedSupergraph,
    Graph,
    JoinField,
    JoinType,
    SArgument,
    SDirective,
    SEnumValue,
    SField,
    SType,
)
from .typeref import TypeRef

Subtype = Callable[[str, str], bool]


def graph_enum_names(names: list[str]) -> list[str]:
    """``join__Graph`` values: the subgraph name upper-cased, made a valid and unique enum value."""
    out: list[str] = []
    for n in names:
        base = re.sub(r"[^A-Za-z0-9_]", "_", n).upper()
        if not base or base[0].isdigit():
            base = "_" + base
        cand = base
        i = 1
        while cand in out:
            cand = f"{base}_{i}"
            i += 1
        out.append(cand)
    return out


def merge_type_refs(a: TypeRef, b: TypeRef, output: bool, subtype: Subtype) -> TypeRef | None:
    """The supergraph type of a field typed ``a`` in one subgraph and ``b`` in another.

    Output positions take the most general type (nullable wins, an interface or union
    wins over its implementations); input positions the most restrictive (non-null
    wins). List wrappers must agree. None means incompatible.
    """
    if a == b:
        return a
    if a.kind == "non_null" and b.kind == "non_null":
        inner = merge_type_refs(a.nullable, b.nullable, output, subtype)
        return TypeRef("non_null", of_type=inner) if inner else None
    if a.kind == "non_null" or b.kind == "non_null":
        inner = merge_type_refs(a.nullable, b.nullable, output, subtype)
        if inner is None:
            return None
        return inner if output else TypeRef("non_null", of_type=inner)
    if a.kind == "list" and b.kind == "list":
        assert a.of_type is not None and b.of_type is not None
        inner = merge_type_refs(a.of_type, b.of_type, output, subtype)
        return TypeRef("list", of_type=inner) if inner else None
    if a.kind != b.kind:
        return None
    if output:
        if subtype(str(a.name), str(b.name)):
            return b
        if subtype(str(b.name), str(a.name)):
            return a
    return None


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
    out.scopes = _combine_requirements([d.scopes for d in decos])
    out.cost = merge_cost([d.cost for d in decos])
    out.list_size = merge_list_size([d.list_size for d in decos])
    out.cost_first = next((d.cost_first for d in decos if d.cost is not None and d.list_size is not None), False)
    out.policies = _combine_requirements([d.policies for d in decos])
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


def _combine_requirements(reqs: list[list[list[str]] | None]) -> list[list[str]] | None:
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


def _fmt_sgs(names: list[str]) -> str:
    if len(names) == 1:
        return f'subgraph "{names[0]}"'
    return "subgraphs " + ", ".join(f'"{n}"' for n in names[:-1]) + f' and "{names[-1]}"'


class Merger:
    """One composition's merge step; collects errors and hints instead of raising."""

    def __init__(self, subgraphs: list[SubgraphSchema]) -> None:
        self.subgraphs = subgraphs
        self.errors: list[CompositionError] = []
        self.hints: list[CompositionHint] = []
        enums = graph_enum_names([s.name for s in subgraphs])
        self.graphs = [Graph(e, s.name, s.url) for e, s in zip(enums, subgraphs, strict=True)]
        self.enum_of = {g.name: g.enum for g in self.graphs}
        # type name -> [(subgraph, definition)] in subgraph order; dict order is first appearance.
        self.defs: dict[str, list[tuple[SubgraphSchema, SubgraphType]]] = {}
        for s in subgraphs:
            for t in s.types.values():
                self.defs.setdefault(t.name, []).append((s, t))
        self.kinds: dict[str, str] = {}
        self.supertypes: dict[str, set[str]] = {}

    # ---- relations -------------------------------------------------------------------------

    def _compute_kinds(self) -> None:
        for name, defs in self.defs.items():
            kinds = {("interface" if t.interface_object else t.kind) for _, t in defs}
            real = {t.kind for _, t in defs if not t.interface_object}
            if len(kinds) > 1:
                detail = "; ".join(f'"{s.name}": {t.kind}' for s, t in defs)
                self.errors.append(
                    CompositionError(
                        "TYPE_KIND_MISMATCH",
                        f'Type "{name}" has mismatched kind: it is defined with different kinds ({detail}).',
                        tuple(s.name for s, _ in defs),
                        name,
                    )
                )
            if any(t.interface_object for _, t in defs) and "interface" not in real:
                self.errors.append(
                    CompositionError(
                        "INTERFACE_OBJECT_USAGE_ERROR",
                        f'Type "{name}" is declared with @interfaceObject in all the subgraphs in which is is '
                        "defined (it should be an interface in at least one subgraph).",
                        tuple(s.name for s, _ in defs),
                        name,
                    )
                )
            self.kinds[name] = next(iter(kinds)) if len(kinds) == 1 else defs[0][1].kind
        for _name, defs in self.defs.items():
            for _, t in defs:
                for i in t.interfaces:
                    self.supertypes.setdefault(t.name, set()).add(i)
                for m in t.members:
                    self.supertypes.setdefault(m, set()).add(t.name)

    def is_subtype(self, sub: str, sup: str) -> bool:
        """Whether ``sub`` implements interface ``sup`` or is a member of union ``sup`` somewhere."""
        seen: set[str] = set()
        todo = [sub]
        while todo:
            n = todo.pop()
            for s in self.supertypes.get(n, ()):
                if s == sup:
                    return True
                if s not in seen:
                    seen.add(s)
                    todo.append(s)
        return False

    def _enum_usage(self) -> dict[str, set[str]]:
        usage: dict[str, set[str]] = {}
        for s in self.subgraphs:
            for t in s.types.values():
                for f in t.fields.values():
                    usage.setdefault(f.type.named, set()).add(f"output:{t.name}.{f.name}")
                    for a in f.args.values():
                        usage.setdefault(a.type.named, set()).add(f"input:{t.name}.{f.name}({a.name}:)")
                for f2 in t.input_fields.values():
                    usage.setdefault(f2.type.named, set()).add(f"input:{t.name}.{f2.name}")
        return usage

    # ---- the whole merge -------------------------------------------------------------------

    def merge(self) -> ComposedSupergraph:
        """Merge every type; errors are in ``self.errors`` afterwards."""
        self._compute_kinds()
        usage = self._enum_usage()
        types: dict[str, SType] = {}
        for name, defs in self.defs.items():
            kind = self.kinds[name]
            if kind in ("object", "interface"):
                types[name] = self._merge_composite(name, kind, defs)
            elif kind == "input":
                types[name] = self._merge_input(name, defs)
            elif kind == "enum":
                types[name] = self._merge_enum(name, defs, usage.get(name, set()))
            elif kind == "union":
                types[name] = self._merge_union(name, defs)
            else:
                if name in BUILTIN_SCALARS:
                    continue
                st = SType(name, "scalar", merge_decorations([t.deco for _, t in defs]))
                st.join_types = [JoinType(self.enum_of[s.name]) for s, _ in defs]
                types[name] = st
        self._propagate_interface_objects(types)
        kinds = (("query", "Query"), ("mutation", "Mutation"), ("subscription", "Subscription"))
        roots = {k: v for k, v in kinds if v in types}
        sg = ComposedSupergraph(self.graphs, types, roots, self._directives())
        return sg

    def _join_types(self, defs: list[tuple[SubgraphSchema, SubgraphType]]) -> list[JoinType]:
        out: list[JoinType] = []
        for s, t in defs:
            g = self.enum_of[s.name]
            ext = t.extension and t.name not in ("Query", "Mutation", "Subscription")
            if t.keys:
                for k in t.keys:
                    out.append(JoinType(g, k.fields, ext, k.resolvable, t.interface_object))
            else:
                # The reference only flags extensions of entities; a keyless extension is just a type.
                out.append(JoinType(g, None, False, True, t.interface_object))
        return out

    def _merge_composite(self, name: str, kind: str, defs: list[tuple[SubgraphSchema, SubgraphType]]) -> SType:
        st = SType(name, kind, merge_decorations([t.deco for _, t in defs]))
        st.deco.join_directives = merge_join_directives([(self.enum_of[s.name], t.deco) for s, t in defs])
        st.join_types = self._join_types(defs)
        st.contexts = [f"{s.name}__{c}" for s, t in defs for c in t.contexts]
        for s, t in defs:
            for i in t.interfaces:
                if i not in st.interfaces:
                    st.interfaces.append(i)
                st.implements.append((self.enum_of[s.name], i))
        type_graphs = [s.name for s, _ in defs]
        field_defs: dict[str, list[tuple[SubgraphSchema, SubgraphField]]] = {}
        for s, t in defs:
            for f in t.fields.values():
                field_defs.setdefault(f.name, []).append((s, f))
        for fname, fdefs in field_defs.items():
            merged = self._merge_field(name, fname, fdefs, type_graphs)
            if merged is not None:
                st.fields[fname] = merged
        return st

    def _merge_field(
        self, tname: str, fname: str, fdefs: list[tuple[SubgraphSchema, SubgraphField]], type_graphs: list[str]
    ) -> SField | None:
        coord = f"{tname}.{fname}"
        resolving = [(s, f) for s, f in fdefs if not f.external] or fdefs
        merged_type: TypeRef | None = resolving[0][1].type
        for _, f in resolving[1:]:
            assert merged_type is not None
            nxt = merge_type_refs(merged_type, f.type, True, self.is_subtype)
            if nxt is None:
                detail = ", ".join(f'type "{ff.type}" in subgraph "{ss.name}"' for ss, ff in resolving)
                self.errors.append(
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
                self.errors.append(
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
        known = {g.name for g in self.graphs}
        for s, f in fdefs:
            if f.override is None:
                continue
            if f.override_label is not None and not _valid_override_label(f.override_label):
                self.errors.append(
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
                self.errors.append(
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
                self.errors.append(
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
            g = self.enum_of[s.name]
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
            self._merge_args(coord, client_args),
            merge_decorations([f.deco for _, f in fdefs]),
            joins if needs else [],
            resolved_in,
        )
        sf.deco.join_directives = merge_join_directives([(self.enum_of[s.name], f.deco) for s, f in fdefs])
        return sf

    def _merge_args(
        self, coord: str, arg_sets: list[tuple[SubgraphSchema, dict[str, ArgumentDef]]]
    ) -> dict[str, SArgument]:
        names: list[str] = []
        for _, args in arg_sets:
            names.extend(a for a in args if a not in names)
        out: dict[str, SArgument] = {}
        for an in names:
            present = [(s, args[an]) for s, args in arg_sets if an in args]
            missing = [s.name for s, args in arg_sets if an not in args]
            acoord = f"{coord}({an}:)"
            if missing:
                required = [s.name for s, a in present if a.type.is_non_null() and a.default is None]
                if required:
                    self.errors.append(
                        CompositionError(
                            "REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH",
                            f'Argument "{acoord}" is required in some subgraphs but does not appear in all '
                            f"subgraphs: it is required in {_fmt_sgs(required)} but does not appear in "
                            f"{_fmt_sgs(missing)}",
                            tuple(required + missing),
                            acoord,
                        )
                    )
                else:
                    self.hints.append(
                        CompositionHint(
                            "INCONSISTENT_ARGUMENT_PRESENCE",
                            f'Optional argument "{acoord}" will not be included in the supergraph as it does '
                            f"not appear in all subgraphs.",
                        )
                    )
                continue
            merged = self._merge_input_value(acoord, present, "ARGUMENT")
            if merged is not None:
                out[an] = merged
        return out

    def _merge_input_value(
        self, coord: str, present: list[tuple[SubgraphSchema, ArgumentDef]], what: str
    ) -> SArgument | None:
        t: TypeRef | None = present[0][1].type
        for _, a in present[1:]:
            assert t is not None
            t = merge_type_refs(t, a.type, False, self.is_subtype)
            if t is None:
                detail = ", ".join(f'type "{a2.type}" in subgraph "{s2.name}"' for s2, a2 in present)
                code = "FIELD_ARGUMENT_TYPE_MISMATCH" if what == "ARGUMENT" else "FIELD_TYPE_MISMATCH"
                self.errors.append(
                    CompositionError(
                        code,
                        f'Type of {"argument" if what == "ARGUMENT" else "field"} "{coord}" is incompatible '
                        f"across subgraphs: it has {detail}.",
                        tuple(s2.name for s2, _ in present),
                        coord,
                    )
                )
                return None
        assert t is not None
        defaults = {a.default for _, a in present}
        given = {d for d in defaults if d is not None}
        default = next(iter(given)) if len(given) == 1 and None not in defaults else None
        if len(given) > 1:
            code = "FIELD_ARGUMENT_DEFAULT_MISMATCH" if what == "ARGUMENT" else "INPUT_FIELD_DEFAULT_MISMATCH"
            detail = ", ".join(
                f'default value {a.default if a.default is not None else "none"} in subgraph "{s.name}"'
                for s, a in present
            )
            self.errors.append(
                CompositionError(
                    code,
                    f'{"Argument" if what == "ARGUMENT" else "Input field"} "{coord}" has incompatible '
                    f"default values across subgraphs: it has {detail}.",
                    tuple(s.name for s, _ in present),
                    coord,
                )
            )
        elif given and None in defaults:
            # A default only some subgraphs declare is dropped: clients could not rely on it.
            self.hints.append(
                CompositionHint(
                    "INCONSISTENT_DEFAULT_VALUE_PRESENCE",
                    f'"{coord}" has a default value in only some subgraphs: will not use a default in the supergraph.',
                )
            )
        sa = SArgument(present[0][1].name, t, default, merge_decorations([a.deco for _, a in present]))
        if len({str(a.type) for _, a in present}) > 1 and what == "INPUT_FIELD":
            sa.joins = [JoinField(self.enum_of[s.name], type=str(a.type)) for s, a in present]
        return sa

    def _merge_input(self, name: str, defs: list[tuple[SubgraphSchema, SubgraphType]]) -> SType:
        st = SType(name, "input", merge_decorations([t.deco for _, t in defs]))
        st.join_types = [JoinType(self.enum_of[s.name]) for s, _ in defs]
        names: list[str] = []
        for _, t in defs:
            names.extend(f for f in t.input_fields if f not in names)
        for fname in names:
            present = [(s, t.input_fields[fname]) for s, t in defs if fname in t.input_fields]
            missing = [s.name for s, t in defs if fname not in t.input_fields]
            coord = f"{name}.{fname}"
            if missing and any(a.deco.inaccessible for _, a in present):
                # Clients never see an @inaccessible input field, so it need not be everywhere:
                # it is kept (inaccessible) with the subgraphs that accept it.
                merged = self._merge_input_value(coord, present, "INPUT_FIELD")
                if merged is not None:
                    differs = len({str(x.type) for _, x in present}) > 1
                    merged.joins = [
                        JoinField(self.enum_of[s.name], type=str(a.type) if differs else None) for s, a in present
                    ]
                    st.input_fields[fname] = merged
                continue
            if missing:
                required = [s.name for s, a in present if a.type.is_non_null() and a.default is None]
                if required:
                    self.errors.append(
                        CompositionError(
                            "REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH",
                            f'Input object field "{coord}" is required in some subgraphs but does not appear '
                            f"in all subgraphs: it is required in {_fmt_sgs(required)} but does not appear in "
                            f"{_fmt_sgs(missing)}",
                            tuple(required + missing),
                            coord,
                        )
                    )
                continue
            merged = self._merge_input_value(coord, present, "INPUT_FIELD")
            if merged is not None:
                st.input_fields[fname] = merged
        if not st.input_fields and names:
            self.errors.append(
                CompositionError(
                    "EMPTY_MERGED_INPUT_TYPE",
                    f'None of the fields of input object type "{name}" are consistently defined in all the '
                    f"subgraphs defining that type. As only fields common to all subgraphs are merged, this "
                    f"would result in an empty type.",
                    tuple(s.name for s, _ in defs),
                    name,
                )
            )
        return st

    def _merge_enum(self, name: str, defs: list[tuple[SubgraphSchema, SubgraphType]], usage: set[str]) -> SType:
        st = SType(name, "enum", merge_decorations([t.deco for _, t in defs]))
        st.join_types = [JoinType(self.enum_of[s.name]) for s, _ in defs]
        as_input = sorted(u.split(":", 1)[1] for u in usage if u.startswith("input:"))
        as_output = sorted(u.split(":", 1)[1] for u in usage if u.startswith("output:"))
        names: list[str] = []
        for _, t in defs:
            names.extend(v for v in t.values if v not in names)
        sgs = [s.name for s, _ in defs]
        for vname in names:
            has = [s.name for s, t in defs if vname in t.values]
            lacks = [n for n in sgs if n not in has]
            coord = f"{name}.{vname}"
            if lacks and any(t.values[vname].deco.inaccessible for _, t in defs if vname in t.values):
                # An @inaccessible value is invisible to clients, so it need not be defined
                # everywhere: it is kept (inaccessible) for the subgraphs that have it.
                lacks = []
            if lacks and as_input and as_output:
                self.errors.append(
                    CompositionError(
                        "ENUM_VALUE_MISMATCH",
                        f'Enum type "{name}" is used as both input type (for example, as type of '
                        f'"{as_input[0]}") and output type (for example, as type of "{as_output[0]}"), but '
                        f'value "{vname}" is not defined in all the subgraphs defining "{name}": "{vname}" is '
                        f"defined in {_fmt_sgs(has)} but not in {_fmt_sgs(lacks)}",
                        tuple(sgs),
                        coord,
                    )
                )
                continue
            if lacks and as_input:
                self.hints.append(
                    CompositionHint(
                        "INCONSISTENT_ENUM_VALUE_FOR_INPUT_ENUM",
                        f'Value "{vname}" of enum type "{name}" will not be part of the supergraph as it is '
                        f"not defined in all the subgraphs defining \"{name}\".",
                    )
                )
                continue
            decos = [t.values[vname].deco for _, t in defs if vname in t.values]
            st.values[vname] = SEnumValue(vname, merge_decorations(decos), [self.enum_of[n] for n in has])
        mismatched = any(
            e.code == "ENUM_VALUE_MISMATCH" and (e.coordinate or "").startswith(f"{name}.") for e in self.errors
        )
        if not st.values and names and not mismatched:
            self.errors.append(
                CompositionError(
                    "EMPTY_MERGED_ENUM_TYPE",
                    f'None of the values of enum type "{name}" are defined consistently in all the subgraphs '
                    f"defining that type. As only values common to all subgraphs are merged, this would result "
                    f"in an empty type.",
                    tuple(sgs),
                    name,
                )
            )
        return st

    def _merge_union(self, name: str, defs: list[tuple[SubgraphSchema, SubgraphType]]) -> SType:
        st = SType(name, "union", merge_decorations([t.deco for _, t in defs]))
        st.join_types = [JoinType(self.enum_of[s.name]) for s, _ in defs]
        for s, t in defs:
            for m in t.members:
                if m not in st.members:
                    st.members.append(m)
                st.union_members.append((self.enum_of[s.name], m))
        return st

    def _propagate_interface_objects(self, types: dict[str, SType]) -> None:
        """Fields an ``@interfaceObject`` adds to an interface also appear on every implementation.

        The implementations do not resolve them themselves (a bare ``@join__field``): the
        gateway fetches them from the subgraph that declared the interface object.
        """
        for iface in types.values():
            if iface.kind != "interface" or not any(j.is_interface_object for j in iface.join_types):
                continue
            for obj in types.values():
                if iface.name not in obj.interfaces or obj.kind != "object":
                    continue
                for fname, f in iface.fields.items():
                    if fname not in obj.fields:
                        obj.fields[fname] = SField(
                            fname, f.type, dict(f.args), merge_decorations([f.deco]), [JoinField(None)], []
                        )

    def _directives(self) -> dict[str, SDirective]:
        out: dict[str, SDirective] = {}
        for s in self.subgraphs:
            for c in s.composed:
                if c.name not in out:
                    out[c.name] = SDirective(c.definition, c.link_url, c.link_import)
        # Executable directives (used in operations) survive when every subgraph defines them,
        # with the locations they all accept.
        exec_names: set[str] | None = None
        for s in self.subgraphs:
            mine = {n for n, d in s.directive_defs.items() if executable_locations(d)}
            exec_names = mine if exec_names is None else exec_names & mine
        for n in sorted(exec_names or ()):
            if n in out:
                continue
            locs = executable_locations(self.subgraphs[0].directive_defs[n])
            for s in self.subgraphs[1:]:
                theirs = set(executable_locations(s.directive_defs[n]))
                locs = [loc for loc in locs if loc in theirs]
            if locs:
                out[n] = SDirective(self.subgraphs[0].directive_defs[n], locations=locs)
        return out


def executable_locations(d: object) -> list[str]:
    """The locations of a directive definition that are executable (usable in operations)."""
    return [loc.value for loc in getattr(d, "locations", ()) if loc.value in EXECUTABLE_LOCATIONS]


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
        out.append(ComposedContextArgument(f"{s.name}__{m.group(1)}", a.name, str(a.type), a.from_context[m.end():]))
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


__all__ = ["Merger", "executable_locations", "graph_enum_names", "merge_type_refs"]
