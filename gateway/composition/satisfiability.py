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
from .subgraph import Subgraph, TypeDef
from .supergraph import Supergraph

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
    def __init__(self, subgraphs: list[Subgraph], supergraph: Supergraph) -> None:
        self.subgraphs = {s.name: s for s in subgraphs}
        self.supergraph = supergraph
        self.errors: list[CompositionError] = []
        self.reported: set[str] = set()
        self.visited: set[tuple[str, frozenset[State]]] = set()
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

    def _can_supply(self, state: State, t: TypeDef, sel: SelectionSetNode) -> bool:
        """Whether ``state``'s subgraph can produce the fields of a key selection on ``t``."""
        sg = self.subgraphs[state.subgraph]
        provided = dict(state.provided)
        for s in sel.selections:
            if isinstance(s, InlineFragmentNode):
                if not self._can_supply(state, t, s.selection_set):
                    return False
                continue
            if not isinstance(s, FieldNode) or s.name.value == "__typename":
                continue
            f = t.fields.get(s.name.value)
            if f is None or (f.external and s.name.value not in provided):
                return False
            if (sg.name, t.name, f.name) in self.overridden:
                return False
            if s.selection_set is not None:
                inner = sg.types.get(f.type.named)
                child = State(state.subgraph, provided.get(s.name.value, ()))
                if inner is None or not self._can_supply(child, inner, s.selection_set):
                    return False
        return True

    def jumps(self, state: State, type_name: str) -> list[State]:
        """Subgraphs reachable from ``state`` at ``type_name`` by entity (or root) jumps."""
        out = [state]
        seen = {state.subgraph}
        i = 0
        while i < len(out):
            cur = out[i]
            i += 1
            src = self.subgraphs[cur.subgraph].types.get(type_name)
            for name, sg in self.subgraphs.items():
                if name in seen:
                    continue
                dst = sg.types.get(type_name)
                if dst is None:
                    continue
                if type_name in ROOTS:
                    ok = True
                else:
                    ok = src is not None and any(
                        k.resolvable and self._key_suppliable(cur, src, k.fields) for k in dst.keys
                    )
                if ok:
                    seen.add(name)
                    out.append(State(name))
        return out

    def _key_suppliable(self, state: State, src: TypeDef, fields: str) -> bool:
        try:
            sel = parse_field_set(fields)
        except FieldSetSyntaxError:
            return False
        return self._can_supply(state, src, sel)

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
            self._walk_abstract(type_name, st.kind, states, path)
            if st.kind == "union":
                return
        for fname, f in st.fields.items():
            if f.deco.inaccessible:
                continue
            next_states: set[State] = set()
            direct = [s for s in states if self.resolves(s, type_name, fname)]
            candidates = direct or [
                j for s in states for j in self.jumps(s, type_name) if self.resolves(j, type_name, fname)
            ]
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
                    src = self.subgraphs[src_state.subgraph].types.get(type_name)
                    if src is not None and any(
                        k.resolvable and self._key_suppliable(src_state, src, k.fields) for k in io.keys
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
                    for j in self.jumps(s, type_name):
                        jt = self.subgraphs[j.subgraph].types.get(type_name)
                        jo = self.subgraphs[j.subgraph].types.get(obj.name)
                        if jt is not None and not jt.interface_object and jo is not None:
                            nxt.add(State(j.subgraph))
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

    def _report(self, type_name: str, fname: str, states: frozenset[State], path: list[str]) -> None:
        coord = f"{type_name}.{fname}"
        if coord in self.reported:
            return
        self.reported.add(coord)
        query = _render_path([*path, fname])
        sgs = sorted({s.subgraph for s in states})
        reasons = "\n".join(
            f'- from subgraph "{n}": cannot find field "{coord}" and no @key lets the plan move to a subgraph '
            "that resolves it." for n in sgs
        )
        self.errors.append(
            CompositionError(
                "SATISFIABILITY_ERROR",
                f"The following supergraph API query:\n{query}\n"
                f"cannot be satisfied by the subgraphs because:\n{reasons}",
                tuple(sgs),
                coord,
            )
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


def check_satisfiability(subgraphs: list[Subgraph], supergraph: Supergraph) -> list[CompositionError]:
    """Report every object field that no query plan can reach, with a query that shows the path."""
    return _Checker(subgraphs, supergraph).run()
