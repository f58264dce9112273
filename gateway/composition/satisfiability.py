"""Satisfiability: can some query plan reach every field of the supergraph?

The check walks the supergraph from its root types. At each position it keeps the
set of subgraphs a plan could be "in" there (with what an enclosing ``@provides``
made available). A field is satisfiable when one of those subgraphs resolves it,
directly or after entity jumps: moving from subgraph A to subgraph B is possible
when B has a resolvable ``@key`` for the type whose fields A can supply. Root types
are reachable in every subgraph.

The check is deliberately conservative: it reports a field only when no state at
all can resolve it, it does not report fields of abstract types (a plan can always
type-explode to implementations), and it assumes ``@requires`` can be met (the
field sets were validated already). A false error would reject a valid supergraph;
a missed one only defers the problem to query planning.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql.language import FieldNode, InlineFragmentNode, SelectionSetNode

from .errors import CompositionError
from .fieldset import FieldSetSyntaxError, parse_field_set
from .subgraph_model import SubgraphSchema
from .supergraph import ComposedSupergraph

#: A provides context: field name -> what is provided below it (empty tuple: a leaf).
Provided = tuple[tuple[str, "Provided"], ...]

ROOTS = ("Query", "Mutation", "Subscription")


@dataclass(frozen=True, slots=True)
class State:
    """A plan being in ``subgraph`` at the current position, with ``provided`` fields available."""

    subgraph: str
    provided: Provided = ()


def _provided_tree(sel: SelectionSetNode) -> Provided:
    """Flatten a provides selection into a name tree (fragment conditions are merged in)."""
    out: dict[str, Provided] = {}
    for s in sel.selections:
        if isinstance(s, FieldNode):
            child = _provided_tree(s.selection_set) if s.selection_set else ()
            out[s.name.value] = tuple(sorted(dict(out.get(s.name.value, ()) + child).items()))
        elif isinstance(s, InlineFragmentNode):
            for k, v in _provided_tree(s.selection_set):
                out[k] = tuple(sorted(dict(out.get(k, ()) + v).items()))
    return tuple(sorted(out.items()))


class _Checker:
    def __init__(self, subgraphs: list[SubgraphSchema], supergraph: ComposedSupergraph) -> None:
        self.subgraphs = {s.name: s for s in subgraphs}
        self.supergraph = supergraph
        self.errors: list[CompositionError] = []
        self.reported: set[str] = set()
        self.visited: set[tuple[str, frozenset[State]]] = set()
        self._jump_cache: dict[tuple[State, str, frozenset[str]], list[State]] = {}
        # (subgraph, type, field) that another subgraph fully took over with @override.
        self.overridden: set[tuple[str, str, str]] = set()
        for s in subgraphs:
            for t in s.types.values():
                for f in t.fields.values():
                    if f.override and f.override_label is None and f.override in self.subgraphs:
                        self.overridden.add((f.override, t.name, f.name))

    # ---- what one subgraph can do -----------------------------------------------------------

    def resolves(self, state: State, type_name: str, field: str) -> bool:
        """Whether the subgraph of ``state`` resolves ``type_name.field`` by itself."""
        sg = self.subgraphs[state.subgraph]
        t = sg.types.get(type_name)
        if t is None or field not in t.fields:
            return False
        if (sg.name, type_name, field) in self.overridden:
            return False
        f = t.fields[field]
        return not f.external or field in dict(state.provided)

    def _can_fetch(self, state: State, type_name: str, sel: SelectionSetNode, guard: frozenset[str]) -> bool:
        """Whether a plan in ``state`` at ``type_name`` can obtain every field of ``sel``.

        Fields may come from the subgraph itself or from others reached by entity jumps
        (a key's fields are often gathered from several subgraphs). ``guard`` holds the
        subgraphs whose keys are being resolved already, so that resolution terminates.
        """
        for s in sel.selections:
            if isinstance(s, InlineFragmentNode):
                cond = s.type_condition.name.value if s.type_condition else type_name
                if cond in self.subgraphs[state.subgraph].types and cond != type_name:
                    if not self._can_fetch(state, cond, s.selection_set, guard):
                        return False
                elif not self._can_fetch(state, type_name, s.selection_set, guard):
                    return False
                continue
            if not isinstance(s, FieldNode) or s.name.value == "__typename":
                continue
            name = s.name.value
            if self.resolves(state, type_name, name):
                candidates = [state]
            else:
                candidates = [
                    j for j in self.jumps(state, type_name, guard)[1:] if self.resolves(j, type_name, name)
                ]
            if not candidates:
                return False
            if s.selection_set is not None:
                ok = False
                for c in candidates:
                    f = self.subgraphs[c.subgraph].types[type_name].fields[name]
                    child = State(c.subgraph, dict(c.provided).get(name, ()))
                    if self._can_fetch(child, f.type.named, s.selection_set, guard):
                        ok = True
                        break
                if not ok:
                    return False
        return True

    def jumps(self, state: State, type_name: str, guard: frozenset[str] = frozenset()) -> list[State]:
        """``state`` first, then the subgraphs reachable from it at ``type_name`` by entity (or root) jumps."""
        cache_key = (state, type_name, guard)
        cached = self._jump_cache.get(cache_key)
        if cached is not None:
            return cached
        out = [state]
        seen = {state.subgraph} | set(guard)
        i = 0
        while i < len(out):
            cur = out[i]
            i += 1
            if type_name not in self.subgraphs[cur.subgraph].types:
                continue
            for name, sg in self.subgraphs.items():
                if name in seen:
                    continue
                dst = sg.types.get(type_name)
                if dst is None:
                    continue
                if type_name in ROOTS:
                    ok = True
                else:
                    inner_guard = guard | {name}
                    ok = any(
                        k.resolvable and self._key_fetchable(cur, type_name, k.fields, inner_guard) for k in dst.keys
                    )
                if ok:
                    seen.add(name)
                    out.append(State(name))
        self._jump_cache[cache_key] = out
        return out

    def _key_fetchable(self, state: State, type_name: str, fields: str, guard: frozenset[str]) -> bool:
        try:
            sel = parse_field_set(fields)
        except FieldSetSyntaxError:
            return False
        return self._can_fetch(state, type_name, sel, guard)

    # ---- the walk ---------------------------------------------------------------------------

    def run(self) -> list[CompositionError]:
        for root in ROOTS:
            if root in self.supergraph.types:
                states = frozenset(State(n) for n, s in self.subgraphs.items() if root in s.types)
                self.walk(root, states, [])
        return self.errors

    def walk(self, type_name: str, states: frozenset[State], path: list[str]) -> None:
        key = (type_name, states)
        if key in self.visited or not states:
            return
        self.visited.add(key)
        st = self.supergraph.types.get(type_name)
        if st is None:
            return
        if st.kind in ("interface", "union"):
            # A plan can always explode an abstract type into its implementations, and each is
            # walked here; the interface's own fields add no path the implementations do not
            # (walking them from the interface alone would miss the implementations' entity jumps).
            self._walk_abstract(type_name, st.kind, states, path)
            return
        for fname, f in st.fields.items():
            if f.deco.inaccessible:
                continue
            next_states: set[State] = set()
            # Every subgraph the plan can be in (directly or after entity jumps) that resolves
            # the field is a way forward: the next level may only be satisfiable through one.
            candidates = list(
                dict.fromkeys(
                    j for s in states for j in self.jumps(s, type_name) if self.resolves(j, type_name, fname)
                )
            )
            owner = {s: type_name for s in candidates}
            if not candidates and st.kind == "object":
                for s, iface in self._via_interface_objects(type_name, fname, states):
                    candidates.append(s)
                    owner[s] = iface
            for s in candidates:
                sg = self.subgraphs[s.subgraph]
                fd = sg.types[owner[s]].fields[fname]
                provided: Provided = dict(s.provided).get(fname, ())
                if fd.provides:
                    try:
                        provided = _provided_tree(parse_field_set(fd.provides))
                    except FieldSetSyntaxError:
                        provided = ()
                next_states.add(State(s.subgraph, provided))
            if not next_states:
                if st.kind == "object":
                    self._report(type_name, fname, states, path)
                continue
            self.walk(f.type.named, frozenset(next_states), [*path, fname])

    def _via_interface_objects(
        self, type_name: str, fname: str, states: frozenset[State]
    ) -> list[tuple[State, str]]:
        """Subgraphs that resolve ``fname`` on an ``@interfaceObject`` of an interface of ``type_name``."""
        st = self.supergraph.types[type_name]
        out: list[tuple[State, str]] = []
        sources = [j for s in states for j in self.jumps(s, type_name)]
        for iface in st.interfaces:
            for name, sg in self.subgraphs.items():
                io = sg.types.get(iface)
                if io is None or not io.interface_object or fname not in io.fields or io.fields[fname].external:
                    continue
                for src_state in sources:
                    if type_name in self.subgraphs[src_state.subgraph].types and any(
                        k.resolvable and self._key_fetchable(src_state, type_name, k.fields, frozenset({name}))
                        for k in io.keys
                    ):
                        out.append((State(name), iface))
                        break
        return out

    def _walk_abstract(self, type_name: str, kind: str, states: frozenset[State], path: list[str]) -> None:
        """Follow each possible runtime type, from the subgraphs that can return it."""
        for obj in self.supergraph.types.values():
            if obj.kind != "object":
                continue
            if kind == "interface":
                member = type_name in obj.interfaces
            else:
                member = obj.name in self.supergraph.types[type_name].members
            if not member:
                continue
            nxt: set[State] = set()
            for s in states:
                sg = self.subgraphs[s.subgraph]
                here = sg.types.get(type_name)
                o = sg.types.get(obj.name)
                if here is not None and here.interface_object:
                    # An interface object does not know the implementations: the plan asks the
                    # subgraphs that define the interface (by its key) for the concrete type.
                    found = False
                    for j in self.jumps(s, type_name):
                        jt = self.subgraphs[j.subgraph].types.get(type_name)
                        jo = self.subgraphs[j.subgraph].types.get(obj.name)
                        if jt is not None and not jt.interface_object and jo is not None:
                            nxt.add(State(j.subgraph))
                            found = True
                    if not found:
                        self._report_interface_object(type_name, obj.name, s.subgraph, path)
                    continue
                if o is None:
                    continue
                if kind == "interface" and type_name not in o.interfaces:
                    continue
                if kind == "union" and here is not None and obj.name not in here.members:
                    continue
                nxt.add(State(s.subgraph, s.provided))
            if nxt:
                self.walk(obj.name, frozenset(nxt), [*path, f"... on {obj.name}"])

    def _report_interface_object(self, iface: str, obj: str, subgraph: str, path: list[str]) -> None:
        key = f"{iface}/{obj}/{subgraph}"
        if key in self.reported:
            return
        self.reported.add(key)
        query = _render_path([*path, f"... on {obj}", "..."])
        self.errors.append(
            CompositionError(
                "SATISFIABILITY_ERROR",
                f"The following supergraph API query:\n{query}\ncannot be satisfied by the subgraphs because:\n"
                f'- from subgraph "{subgraph}": no subgraph can be reached to resolve the implementation type of '
                f'@interfaceObject type "{iface}".',
                (subgraph,),
                iface,
            )
        )

    def _report(self, type_name: str, fname: str, states: frozenset[State], path: list[str]) -> None:
        coord = f"{type_name}.{fname}"
        if coord in self.reported:
            return
        self.reported.add(coord)
        query = _render_path([*path, fname])
        # Every subgraph the plan could be in at this point, in the order they were reached.
        ordered = sorted(states, key=lambda x: x.subgraph)
        tried = list(dict.fromkeys(j.subgraph for st in ordered for j in self.jumps(st, type_name)))
        owners = [
            n
            for n, sg in self.subgraphs.items()
            if type_name in sg.types
            and fname in sg.types[type_name].fields
            and not sg.types[type_name].fields[fname].external
        ]
        blocks: list[str] = []
        for n in tried:
            moves = [o for o in owners if o not in tried]
            if not moves:
                blocks.append(f'- from subgraph "{n}": cannot find field "{coord}".')
                continue
            lines = [f'- from subgraph "{n}":', f'  - cannot find field "{coord}".']
            for o in moves:
                why = self._why(o, type_name, n)
                lines.append(f'  - cannot move to subgraph "{o}", which has field "{coord}", because {why}')
            blocks.append("\n".join(lines))
        self.errors.append(
            CompositionError(
                "SATISFIABILITY_ERROR",
                f"The following supergraph API query:\n{query}\n"
                "cannot be satisfied by the subgraphs because:\n" + "\n".join(blocks),
                tuple(tried),
                coord,
            )
        )

    def _why(self, target: str, type_name: str, source: str) -> str:
        """Why no entity jump leads from ``source`` to ``target`` at ``type_name`` (Apollo's wording)."""
        t = self.subgraphs[target].types[type_name]
        if not t.keys:
            return f'type "{type_name}" has no @key defined in subgraph "{target}".'
        if not any(k.resolvable for k in t.keys):
            return (
                f'none of the @key defined on type "{type_name}" in subgraph "{target}" are resolvable (they are '
                'all declared with their "resolvable" argument set to false).'
            )
        return (
            f'none of the @key defined on type "{type_name}" in subgraph "{target}" can be fulfilled from '
            f'subgraph "{source}".'
        )


def _render_path(path: list[str]) -> str:
    """``["t", "b"]`` as an indented query ``{ t { b } }``, the way Apollo shows failing paths."""
    lines: list[str] = []
    for depth, step in enumerate(path):
        indent = "  " * depth
        lines.append(f"{indent}{step}" + (" {" if depth < len(path) - 1 else ""))
    for depth in range(len(path) - 2, -1, -1):
        lines.append("  " * depth + "}")
    body = "\n".join("  " + line for line in lines)
    return "{\n" + body + "\n}"


def check_satisfiability(subgraphs: list[SubgraphSchema], supergraph: ComposedSupergraph) -> list[CompositionError]:
    """Report every object field that no query plan can reach, with a query that shows the path."""
    return _Checker(subgraphs, supergraph).run()
