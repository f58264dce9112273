"""The query planner: split a normalised operation into subgraph fetches.

The search walks the operation depth first. At every field it stays in the
subgraph that already holds the parent object when that subgraph can resolve
the field (staying never costs a fetch); otherwise it takes an edge to another
subgraph:

* an entity jump by a key the current subgraph can supply (several hops when
  needed), with the field's ``@requires`` (and ``@fromContext`` arguments)
  gathered first, possibly from yet other subgraphs;
* through an ``@interfaceObject`` when the field lives on an interface there;
* when no key leads there, by asking another subgraph for the same path from
  the nearest anchor: the operation root (shared root fields of keyless types)
  or the nearest entity above (a value type split over subgraphs).

Among several candidates (root fields, @shareable fields) it picks the one whose
subtree needs the fewest further jumps (fields an enclosing ``@provides`` covers
count as local), preferring a fetch group that already
exists for the same response path; a dead end is undone and the next way tried,
and a root field that cannot be planned in one subgraph is planned again in the
next. Abstract types are kept as they are when the subgraph resolves the whole
selection, and exploded into their concrete types otherwise.

Below a fragment that narrows a union or interface to one member, response
paths name that member (``review|[UserReview].product``): entity fetches there
only take that member's objects. Every fetch group remembers the @skip/@include
conditions common to all the selections it serves; an entity fetch whose
conditions do not hold is not sent.

Fetch groups with their dependencies then become a Sequence / Parallel / Flatten
/ Fetch tree: independent parts side by side, a tree when every group waits for
one other, otherwise the groups nothing waits on first and the rest arranged the
same way.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

from graphql import GraphQLInterfaceType, GraphQLObjectType, GraphQLUnionType, is_abstract_type

from gateway.planner.nodes import (
    TYPE_FILTER,
    ContextVariable,
    FetchNode,
    FieldItem,
    FlattenNode,
    ParallelNode,
    PlanNode,
    Representation,
    SelSet,
    SequenceNode,
    alias_conflicts,
)
from gateway.planner.operation import (
    Condition,
    NormalizedOperation,
    OpField,
    OpFragment,
    OpSelection,
    fieldset_selections,
)
from gateway.supergraph.model import FieldInGraph, KeyInfo, Supergraph

_MAX_DEPTH = 24
_INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})


class PlanningError(Exception):
    """The operation cannot be planned against this supergraph."""


# provided field sets: field name -> nested provided; "…on T" keys hold type-conditioned parts
Provided = dict[str, "Provided"]


@dataclass(eq=False)
class _Group:
    id: int
    subgraph: str
    path: tuple[str, ...]
    is_entity: bool
    section: int
    selset: SelSet = field(default_factory=SelSet)
    deps: set[_Group] = field(default_factory=set)
    reps: dict[str, Representation] = field(default_factory=dict)
    rep_keys: dict[str, str] = field(default_factory=dict)
    variables: set[str] = field(default_factory=set)
    root_fields: list[str] = field(default_factory=list)
    context: list[ContextVariable] = field(default_factory=list)
    # conditions under which every selection of this fetch is needed (the intersection over
    # all the positions that used it; None until first used)
    conds: frozenset[Condition] | None = None

    def use(self, conds: frozenset[Condition]) -> None:
        """Record that a position needing ``conds`` put selections into this fetch."""
        self.conds = conds if self.conds is None else self.conds & conds

    def __hash__(self) -> int:
        return self.id


@dataclass(slots=True)
class _Ctx:
    group: _Group
    selset: SelSet
    type: str
    path: tuple[str, ...]
    provided: Provided | None = None
    entry_key: frozenset[str] = frozenset()
    # response names the client uses at this level: helper fields must not collide with them
    client: dict[str, tuple[str, str]] | None = None
    # The nearest ancestor object that another subgraph can reach (the operation root, or an
    # entity), and the fields from it down to here. When a field has no key to jump by, the
    # same path is asked from that anchor in a subgraph that resolves the whole of it.
    anchor: _Ctx | None = None
    chain: tuple[tuple[str, str, str, str, str], ...] = ()
    # Set when this object type was reached through a fragment on an abstract field: objects of
    # other types share the response path, so paths below here say which type they go through
    # (``review|[UserReview].product``) and entity fetches there skip the other types' objects.
    type_filter: str | None = None
    # @skip/@include conditions of the client selections leading here: the data asked for at
    # this position is only needed when all of them hold
    conds: frozenset[Condition] = frozenset()

    def helper_name(self, f: OpField) -> str:
        """The response name for ``f`` at this level (see :func:`_helper_name`)."""
        return _helper_name(f, self.client)


def _needed_by_dependents(groups: list[_Group]) -> None:
    """A fetch whose output feeds another fetch is needed whenever that one is: narrow each
    fetch's conditions to what its dependents need (until nothing changes; deps are acyclic)."""
    changed = True
    while changed:
        changed = False
        for g in groups:
            mine = g.conds if g.conds is not None else frozenset()
            for d in g.deps:
                if d.conds is None:
                    continue
                narrowed = d.conds & mine
                if narrowed != d.conds:
                    d.conds = narrowed
                    changed = True


def _helper_name(f: OpField, client: dict[str, tuple[str, str]] | None) -> str:
    """The response name of ``f``: helper fields step aside from the client's names, and helper
    fields with arguments get a name of their own (two @requires may need ``price`` in two
    currencies on the same object). The data and the representation recipe both use it."""
    if not f.helper:
        return f.response_name
    if f.args:
        return f"_h_{f.name}_{hashlib.sha1(f.args.encode()).hexdigest()[:8]}"
    if client:
        used = client.get(f.response_name)
        if used is not None and used != (f.name, f.args):
            return "_h_" + f.response_name
    return f.response_name


def _typename() -> OpField:
    return OpField(response_name="__typename", name="__typename", helper=True)


def _provided_tree(sels: list[OpSelection]) -> Provided:
    out: Provided = {}
    for s in sels:
        if isinstance(s, OpField):
            child = _provided_tree(s.selections) if s.selections else {}
            existing = out.get(s.name)
            if existing is not None:
                existing.update(child)
            else:
                out[s.name] = child
        else:
            key = "…on " + (s.type_condition or "")
            out.setdefault(key, {}).update(_provided_tree(s.selections))
    return out


class QueryPlanner:
    """Plans operations against one supergraph. Pure: no I/O, deterministic."""

    def __init__(self, supergraph: Supergraph) -> None:
        self.sg = supergraph
        self.schema = supergraph.api_schema

    def plan(self, op: NormalizedOperation) -> PlanNode | None:
        """The plan tree for ``op`` (``None`` when no subgraph is needed)."""
        # A root field served by several subgraphs is tried in order of estimated cost; when the
        # chosen one turns out impossible (e.g. a needed key is @external there), plan again
        # without it.
        excluded: dict[int, set[str]] = {}
        last: PlanningError | None = None
        for _ in range(64):
            build = _PlanBuild(self, op, excluded)
            try:
                return build.run()
            except _RootFailed as failed:
                excluded.setdefault(failed.index, set()).add(failed.graph)
                last = failed.cause
        raise last or PlanningError("no subgraph combination can resolve this operation")


class _RootFailed(Exception):
    def __init__(self, index: int, graph: str, cause: PlanningError) -> None:
        super().__init__(str(cause))
        self.index = index
        self.graph = graph
        self.cause = cause


class _PlanBuild:
    """State of planning one operation."""

    def __init__(self, planner: QueryPlanner, op: NormalizedOperation,
                 excluded: dict[int, set[str]] | None = None) -> None:
        self.excluded = excluded or {}
        self.ancestors: list[_Ctx] = []
        self.jumping: set[tuple[str, str, tuple[str, ...], str]] = set()
        self.sg = planner.sg
        self.schema = planner.schema
        self.op = op
        self.groups: list[_Group] = []
        self.root_groups: dict[str, _Group] = {}
        self.section = 0
        self.depth = 0

    # -- helpers ---------------------------------------------------------------------------

    def _snapshot(self) -> tuple[int, dict[str, _Group], list[tuple[Any, ...]], list[tuple[SelSet, set[Any]]]]:
        """What a failed attempt may touch, so that it can be undone. Selection sets keep their
        identity (contexts up the stack point into them): only the keys they had are noted."""
        sets: list[tuple[SelSet, set[Any]]] = []

        def note(ss: SelSet) -> None:
            sets.append((ss, set(ss.items)))
            for item in ss.items.values():
                if item.sub is not None:
                    note(item.sub)

        groups = []
        for g in self.groups:
            note(g.selset)
            for rep in g.reps.values():
                note(rep.selection)
            groups.append((g, set(g.deps), dict(g.reps), dict(g.rep_keys), set(g.variables), list(g.root_fields),
                           list(g.context)))
        return len(self.groups), dict(self.root_groups), groups, sets

    def _restore(self, snap: tuple[int, dict[str, _Group], list[tuple[Any, ...]], list[tuple[SelSet, set[Any]]]]
                 ) -> None:
        count, roots, groups, sets = snap
        del self.groups[count:]
        self.root_groups = roots
        for g, deps, reps, rep_keys, variables, root_fields, context in groups:
            g.deps, g.reps, g.rep_keys, g.variables, g.root_fields = deps, reps, rep_keys, variables, root_fields
            g.context = context
        for ss, keys in sets:
            for k in [k for k in ss.items if k not in keys]:
                del ss.items[k]

    def _new_group(self, subgraph: str, path: tuple[str, ...], is_entity: bool) -> _Group:
        g = _Group(id=len(self.groups), subgraph=subgraph, path=path, is_entity=is_entity, section=self.section)
        self.groups.append(g)
        return g

    def _kind(self, type_name: str) -> str:
        t = self.schema.get_type(type_name)
        if isinstance(t, GraphQLObjectType):
            return "object"
        if isinstance(t, GraphQLInterfaceType):
            return "interface"
        if isinstance(t, GraphQLUnionType):
            return "union"
        td = self.sg.types.get(type_name)
        return td.kind if td is not None else "scalar"

    def _is_composite(self, type_name: str) -> bool:
        return self._kind(type_name) in ("object", "interface", "union")

    def _api_possible(self, type_name: str) -> list[str]:
        t = self.schema.get_type(type_name)
        if t is None:
            return []
        if isinstance(t, GraphQLObjectType):
            return [t.name]
        if is_abstract_type(t):
            return [o.name for o in self.schema.get_possible_types(t)]  # type: ignore[arg-type]
        return []

    def _applies(self, cond: str | None, type_name: str) -> bool:
        if cond is None or cond == type_name:
            return True
        return type_name in self._api_possible(cond)

    @staticmethod
    def _depends_on(a: _Group, b: _Group) -> bool:
        """Whether ``a`` is ``b`` or (transitively) waits for ``b``."""
        seen: set[int] = set()
        stack = [a]
        while stack:
            g = stack.pop()
            if g is b:
                return True
            if g.id in seen:
                continue
            seen.add(g.id)
            stack.extend(g.deps)
        return False

    def _provided_has(self, ctx: _Ctx, name: str) -> bool:
        p = ctx.provided
        if not p:
            return False
        if name in p:
            return True
        for k, sub in p.items():
            if k.startswith("…on ") and self._applies(k[4:] or None, ctx.type) and name in sub:
                return True
        return False

    def _provided_child(self, ctx: _Ctx, name: str) -> Provided | None:
        p = ctx.provided
        if not p:
            return None
        out: Provided = {}
        if name in p:
            out.update(p[name])
        for k, sub in p.items():
            if k.startswith("…on ") and self._applies(k[4:] or None, ctx.type) and name in sub:
                out.update(sub[name])
        return out or None

    def _local(self, ctx: _Ctx, f: OpField) -> bool:
        """Whether the subgraph of ``ctx`` resolves ``f`` on ``ctx.type`` without a jump."""
        g = ctx.group.subgraph
        fg = self.sg.field_in_graph(ctx.type, f.name, g)
        if fg is None:
            return self.sg.type_in_graph(ctx.type, g) and self._provided_has(ctx, f.name)
        if fg.requires is not None or fg.inactive or fg.context_arguments:
            return False
        if fg.external:
            return self._provided_has(ctx, f.name)
        return True

    def _local_static(self, graph: str, type_name: str, sels: list[OpSelection]) -> bool:
        """Whether ``graph`` resolves all of ``sels`` (keys, mostly) on ``type_name`` directly."""
        for s in sels:
            if isinstance(s, OpFragment):
                if not self._local_static(graph, s.type_condition or type_name, s.selections):
                    return False
                continue
            if s.name == "__typename":
                continue
            if not self.sg.can_resolve(type_name, s.name, graph):
                return False
            fg = self.sg.field_in_graph(type_name, s.name, graph)
            if fg is not None and fg.requires is not None:
                return False
            if s.selections:
                fd = self.sg.field_def(type_name, s.name)
                if fd is None or not self._local_static(graph, _base(fd.type), s.selections):
                    return False
        return True

    # -- cost estimate (fewest fetches) -------------------------------------------------------

    def _estimate(self, graph: str, type_name: str, sels: list[OpSelection], depth: int = 0,
                  provided: Provided | None = None) -> int:
        """Rough number of extra fetches needed to resolve ``sels`` starting in ``graph``
        (fields an enclosing ``@provides`` covers there count as local)."""
        if depth > 6:
            return 0
        cost = 0
        kind = self._kind(type_name)
        for s in sels:
            if isinstance(s, OpFragment):
                cond = s.type_condition or type_name
                if self._kind(cond) == "object" and kind != "object":
                    if not self.sg.type_in_graph(cond, graph):
                        continue
                cost += self._estimate(graph, cond, s.selections, depth + 1, self._narrow_provided(provided, cond))
                continue
            if s.name == "__typename":
                continue
            fd = self.sg.field_def(type_name, s.name)
            if fd is None:
                continue
            fg = self.sg.field_in_graph(type_name, s.name, graph)
            covered = self._provided_sub(provided, type_name, s.name)
            local = fg is not None and not fg.external and not fg.inactive and fg.requires is None
            if local or (covered is not None and (fg is None or fg.requires is None)):
                if s.selections:
                    sub_provided = (_provided_tree(fieldset_selections(fg.provides))
                                    if fg is not None and fg.provides is not None else covered)
                    sub_type = _base(fg.type if fg is not None and fg.type else fd.type)
                    cost += self._estimate(graph, sub_type, s.selections, depth + 1, sub_provided or None)
                continue
            others = self.sg.resolving_graphs(type_name, s.name)
            if not others:
                cost += 1
                continue
            best = min(
                (self._estimate(o, _base(fd.type), s.selections, depth + 1) if s.selections else 0)
                for o in others
            )
            cost += 1 + best
        return cost

    def _provided_sub(self, provided: Provided | None, type_name: str, name: str) -> Provided | None:
        """What ``provided`` (an enclosing @provides) says about field ``name`` of ``type_name``:
        ``None`` when it does not cover the field, else what it provides below it."""
        if not provided:
            return None
        out: Provided | None = None
        if name in provided:
            out = dict(provided[name])
        for k, sub in provided.items():
            if k.startswith("…on ") and self._applies(k[4:] or None, type_name) and name in sub:
                out = {**(out or {}), **sub[name]}
        return out

    # -- planning ------------------------------------------------------------------------------

    def run(self) -> PlanNode | None:
        op = self.op
        root = {
            "query": self.sg.query_type,
            "mutation": self.sg.mutation_type,
            "subscription": self.sg.subscription_type,
        }[op.kind]
        if root is None:
            raise PlanningError(f"the schema has no {op.kind} root type")
        if op.kind == "mutation":
            sections: list[_Group] = []
            for index, (f, wrappers) in enumerate(self._root_fields(op.selections, root, ())):
                self.section = len(sections)
                graph = self._choose_root_graph(root, f, sections[-1].subgraph if sections else None, index)
                if sections and sections[-1].subgraph == graph:
                    group = sections[-1]
                    self.section = group.section
                else:
                    group = self._new_group(graph, (), False)
                    sections.append(group)
                self._plan_root_checked(group, root, f, wrappers, index)
            return self._tree_sections(sections, "mutation")
        for index, (f, wrappers) in enumerate(self._root_fields(op.selections, root, ())):
            graph = self._choose_root_graph(root, f, None, index)
            existing = self.root_groups.get(graph)
            group = existing if existing is not None else self._new_group(graph, (), False)
            self.root_groups[graph] = group
            self._plan_root_checked(group, root, f, wrappers, index)
        return self._tree(self.groups, list(self.root_groups.values()), op.kind)

    def _root_fields(
        self, sels: list[OpSelection], root: str, wrappers: tuple[str, ...]
    ) -> list[tuple[OpField, tuple[str, ...]]]:
        out: list[tuple[OpField, tuple[str, ...]]] = []
        for s in sels:
            if isinstance(s, OpFragment):
                if not self._applies(s.type_condition, root):
                    continue
                out.extend(self._root_fields(s.selections, root, wrappers + ((s.directives,) if s.directives else ())))
            elif s.name == "__typename" or s.name in _INTROSPECTION_ROOTS:
                continue  # answered by the gateway itself
            else:
                out.append((s, wrappers))
        return out

    def _choose_root_graph(self, root: str, f: OpField, prefer: str | None, index: int) -> str:
        cands = self.sg.resolving_graphs(root, f.name)
        if not cands:
            raise PlanningError(f"no subgraph resolves {root}.{f.name}")
        tried = self.excluded.get(index, set())
        cands = [c for c in cands if c not in tried]
        if not cands:
            raise PlanningError(f"no subgraph can resolve the selection of {root}.{f.name}")
        if len(cands) == 1:
            return cands[0]

        def score(g: str) -> tuple[int, int, int]:
            cost = self._estimate(g, root, [f])
            existing = 0 if (g in self.root_groups or g == prefer) else 1
            return (cost + existing, existing, self.sg.graph_order[g])

        return min(cands, key=score)

    def _plan_root_checked(self, group: _Group, root: str, f: OpField, wrappers: tuple[str, ...],
                           index: int) -> None:
        try:
            self._plan_root_field(group, root, f, wrappers)
        except PlanningError as exc:
            if len(self.sg.resolving_graphs(root, f.name)) > 1:
                raise _RootFailed(index, group.subgraph, exc) from exc
            raise

    def _plan_root_field(self, group: _Group, root: str, f: OpField, wrappers: tuple[str, ...]) -> None:
        selset = group.selset
        for w in wrappers:
            selset = selset.add_fragment(None, w)
        group.root_fields.append(f.response_name)
        ctx = _Ctx(group=group, selset=selset, type=root, path=())
        if not wrappers:
            ctx.anchor = ctx
        self._plan_field(ctx, f)

    def _plan_sels(self, ctx: _Ctx, sels: list[OpSelection]) -> set[_Group]:
        """Plan ``sels`` on the object(s) at ``ctx``; returns the groups that produce their data."""
        self.depth += 1
        if self.depth > _MAX_DEPTH * 8:
            raise PlanningError("operation too deep to plan")
        try:
            if any(not (isinstance(s, OpField) and s.helper) for s in sels):
                names: dict[str, tuple[str, str]] = dict(ctx.client or {})
                _client_names(sels, names)
                ctx.client = names
            kind = self._kind(ctx.type)
            graph = ctx.group.subgraph
            if kind == "object":
                return self._plan_object(ctx, sels)
            if kind == "interface" and self.sg.is_interface_object(ctx.type, graph):
                return self._plan_interface_object(ctx, sels)
            return self._plan_abstract(ctx, sels)
        finally:
            self.depth -= 1

    def _plan_object(self, ctx: _Ctx, sels: list[OpSelection]) -> set[_Group]:
        providers: set[_Group] = set()
        for s in sels:
            if isinstance(s, OpFragment):
                if not self._applies(s.type_condition, ctx.type):
                    continue
                sub = ctx
                if s.directives:
                    sub = _Ctx(ctx.group, ctx.selset.add_fragment(None, s.directives), ctx.type, ctx.path,
                               ctx.provided, ctx.entry_key, ctx.client, ctx.anchor, ctx.chain, ctx.type_filter,
                               ctx.conds | frozenset(s.conditions))
                    ctx.group.variables |= s.variables
                providers |= self._plan_object(sub, s.selections)
            else:
                providers |= self._plan_field(ctx, s)
        return providers

    def _plan_interface_object(self, ctx: _Ctx, sels: list[OpSelection]) -> set[_Group]:
        """The subgraph knows the interface only as an @interfaceObject: concrete types live elsewhere."""
        local: list[OpSelection] = []
        remote: list[OpSelection] = []
        for s in sels:
            if isinstance(s, OpField) and (s.name != "__typename" or s.helper):
                local.append(s)
            elif isinstance(s, OpFragment) and s.type_condition in (None, ctx.type) and not s.directives:
                (local if all(isinstance(x, OpField) and x.name != "__typename" for x in s.selections)
                 else remote).append(s)
            else:
                remote.append(s)
        providers: set[_Group] = {ctx.group}
        # the interface's name comes back as __typename; it tells the response formatter that
        # the object is there (the concrete type replaces it when fetched)
        ctx.selset.add_field("__typename", "__typename")
        for s in local:
            if isinstance(s, OpFragment):
                providers |= self._plan_object(ctx, s.selections)
            else:
                providers |= self._plan_field(ctx, s)
        if remote:
            # find a subgraph where the interface is a real (entity) interface
            target = None
            for g in self.sg.subgraphs:
                if g == ctx.group.subgraph or self.sg.is_interface_object(ctx.type, g):
                    continue
                if self.sg.resolvable_keys(ctx.type, g):
                    target = g
                    break
            if target is None:
                # nothing knows the concrete types: the interface object's own __typename is all we have
                ctx.selset.add_field("__typename", "__typename")
                return providers | {ctx.group}
            tctx, deps = self._entity_ctx(ctx, target, ctx.type, None)
            tctx.group.deps |= deps
            providers |= self._plan_abstract(tctx, remote)
        return providers

    def _plan_abstract(self, ctx: _Ctx, sels: list[OpSelection]) -> set[_Group]:
        graph = ctx.group.subgraph
        ctx.selset.add_field("__typename", "__typename")
        providers: set[_Group] = {ctx.group}
        possible = self.sg.possible_types_in_graph(ctx.type, graph)
        is_iface = self._kind(ctx.type) == "interface"
        for s in sels:
            if isinstance(s, OpField):
                if s.name == "__typename":
                    if s.response_name != "__typename" or s.directives:
                        ctx.selset.add_field(s.response_name, "__typename", "", s.directives)
                    continue
                if is_iface and self._local(ctx, s) and self._interface_field_uniform(ctx.type, s.name, graph,
                                                                                       possible):
                    providers |= self._plan_field(ctx, s)
                    continue
                if not possible:
                    # no object type of this subgraph can be here: the field is unreachable
                    raise PlanningError(f"cannot resolve {ctx.type}.{s.name} from subgraph {graph!r}")
                for r in possible:
                    if not self._applies_api(ctx.type, r):
                        continue
                    rctx = _Ctx(ctx.group, ctx.selset.add_fragment(r), r, ctx.path,
                                self._narrow_provided(ctx.provided, r), ctx.entry_key, ctx.client, type_filter=r,
                                conds=ctx.conds)
                    providers |= self._plan_field(rctx, s)
                continue
            cond = s.type_condition or ctx.type
            fconds = ctx.conds | frozenset(s.conditions)
            if s.directives:
                ctx.group.variables |= s.variables
            if cond == ctx.type:
                sub = ctx
                if s.directives:
                    sub = _Ctx(ctx.group, ctx.selset.add_fragment(None, s.directives), ctx.type, ctx.path,
                               ctx.provided, ctx.entry_key, ctx.client, conds=fconds)
                providers |= self._plan_abstract(sub, s.selections)
                continue
            cond_kind = self._kind(cond)
            if cond_kind == "object":
                if cond not in possible:
                    continue  # this subgraph never returns that type here
                rctx = _Ctx(ctx.group, ctx.selset.add_fragment(cond, s.directives), cond, ctx.path,
                            self._narrow_provided(ctx.provided, cond), ctx.entry_key, ctx.client, type_filter=cond,
                            conds=fconds)
                providers |= self._plan_object(rctx, s.selections)
                continue
            overlap = [r for r in possible if r in self._api_possible(cond)]
            if not overlap:
                continue
            if (
                self.sg.type_in_graph(cond, graph)
                and not self.sg.is_interface_object(cond, graph)
                and set(overlap) <= set(self.sg.possible_types_in_graph(cond, graph))
            ):
                rctx = _Ctx(ctx.group, ctx.selset.add_fragment(cond, s.directives), cond, ctx.path,
                            ctx.provided, ctx.entry_key, ctx.client, conds=fconds)
                providers |= self._plan_abstract(rctx, s.selections)
                continue
            for r in overlap:
                rctx = _Ctx(ctx.group, ctx.selset.add_fragment(r, s.directives), r, ctx.path,
                            self._narrow_provided(ctx.provided, r), ctx.entry_key, ctx.client, type_filter=r,
                            conds=fconds)
                providers |= self._plan_object(rctx, s.selections)
        return providers

    def _applies_api(self, abstract: str, r: str) -> bool:
        return r in self._api_possible(abstract)

    def _narrow_provided(self, provided: Provided | None, type_name: str) -> Provided | None:
        if not provided:
            return provided
        out: Provided = {}
        for k, v in provided.items():
            if k.startswith("…on "):
                if self._applies(k[4:] or None, type_name):
                    out.update(v)
            else:
                out[k] = v
        return out

    def _interface_field_uniform(self, iface: str, name: str, graph: str, possible: list[str]) -> bool:
        """Whether every implementation resolves the interface field in ``graph`` as the interface does."""
        for r in possible:
            fg = self.sg.field_in_graph(r, name, graph)
            if fg is None or fg.external or fg.requires is not None or fg.inactive:
                return False
        return True

    def _plan_field(self, ctx: _Ctx, f: OpField) -> set[_Group]:
        if f.conditions:
            ctx = replace(ctx, conds=ctx.conds | frozenset(f.conditions))
        ctx.group.use(ctx.conds)
        if f.name == "__typename":
            ctx.selset.add_field(f.response_name, "__typename", "", f.directives)
            ctx.group.variables |= f.variables
            return {ctx.group}
        if self._local(ctx, f):
            return self._add_local(ctx, f)
        if not f.selections and not f.args and f.name in ctx.entry_key and f.response_name == f.name:
            return {ctx.group}  # a key field: already in the data from the fetch that led here
        return self._jump(ctx, f)

    def _add_local(self, ctx: _Ctx, f: OpField) -> set[_Group]:
        graph = ctx.group.subgraph
        fd = self.sg.field_def(ctx.type, f.name)
        if fd is None:
            raise PlanningError(f"unknown field {ctx.type}.{f.name}")
        fg = self.sg.field_in_graph(ctx.type, f.name, graph)
        sub_type_str = (fg.type if fg is not None and fg.type else None) or fd.type
        sub_type = _base(sub_type_str)
        composite = self._is_composite(sub_type)
        rn = ctx.helper_name(f)
        sub = ctx.selset.add_field(rn, f.name, f.args, f.directives, composite, sub_type_str)
        ctx.group.variables |= f.variables
        if sub is None or not f.selections:
            return {ctx.group}
        path = ctx.path + ((TYPE_FILTER + ctx.type_filter,) if ctx.type_filter else ()) + (rn,)
        path += ("@",) * fd.type.count("[")
        if fg is not None and fg.provides is not None:
            provided: Provided | None = _provided_tree(fieldset_selections(fg.provides))
        else:
            provided = self._provided_child(ctx, f.name)
        ctx.group.use(ctx.conds)
        child = _Ctx(ctx.group, sub, sub_type, path, provided, conds=ctx.conds)
        if self._kind(sub_type) == "object":
            td = self.sg.types.get(sub_type)
            tg = td.graphs.get(graph) if td is not None else None
            if tg is not None and tg.keys:
                child.anchor = child  # an entity here: other subgraphs can be reached by its key
            elif ctx.anchor is not None:
                child.anchor = ctx.anchor
                child.chain = (*ctx.chain, (ctx.type, rn, f.name, f.args, f.directives))
        self.ancestors.append(ctx)  # @fromContext reads from the objects above
        try:
            return {ctx.group} | self._plan_sels(child, f.selections)
        finally:
            self.ancestors.pop()

    def _candidates(self, type_name: str, f: OpField, current: str) -> list[tuple[str, str]]:
        """(subgraph, entity type) pairs that can resolve ``f`` after an entity jump."""
        out: list[tuple[str, str]] = []
        for g in self.sg.subgraphs:
            fg = self.sg.field_in_graph(type_name, f.name, g)
            if fg is None or fg.external or fg.inactive:
                continue
            if g == current and fg.requires is None and not fg.context_arguments:
                continue
            if self.sg.resolvable_keys(type_name, g):
                out.append((g, type_name))
        t = self.schema.get_type(type_name)
        if isinstance(t, GraphQLObjectType):
            for iface in t.interfaces:
                for g in self.sg.subgraphs:
                    if g == current or not self.sg.is_interface_object(iface.name, g):
                        continue
                    if self.sg.can_resolve(iface.name, f.name, g) and self.sg.resolvable_keys(iface.name, g):
                        out.append((g, iface.name))
        return out

    def _jump(self, ctx: _Ctx, f: OpField) -> set[_Group]:
        marker = (ctx.group.subgraph, ctx.type, ctx.path, f.name)
        if marker in self.jumping:
            # resolving f needs f itself (say a key that is @external here): no way through
            raise PlanningError(
                f"cannot resolve {ctx.type}.{f.name} from subgraph {ctx.group.subgraph!r}"
            )
        self.jumping.add(marker)
        try:
            return self._jump_inner(ctx, f)
        finally:
            self.jumping.discard(marker)

    def _reenter(self, ctx: _Ctx, f: OpField) -> set[_Group] | None:
        """Fetch ``f`` by asking another subgraph for the same path from the nearest anchor: the
        root (shared root fields; queries only, a mutation must not run twice) or an entity
        (its field leading here is resolved by another subgraph too)."""
        anchor = ctx.anchor
        if anchor is None or not ctx.chain:
            return None
        at_root = not anchor.path and not anchor.group.is_entity
        if at_root and self.op.kind != "query":
            return None
        for g in self.sg.subgraphs:
            if g == ctx.group.subgraph:
                continue
            if not all(self.sg.can_resolve(t, name, g) for t, _rn, name, _a, _d in ctx.chain):
                continue
            fg = self.sg.field_in_graph(ctx.type, f.name, g)
            if fg is None or fg.external or fg.inactive or fg.requires is not None:
                continue
            if at_root:
                group = self.root_groups.get(g)
                if group is None:
                    group = self.root_groups[g] = self._new_group(g, (), False)
                if ctx.chain[0][1] not in group.root_fields:
                    group.root_fields.append(ctx.chain[0][1])
                selset = group.selset
                deps: set[_Group] = set()
            else:
                if not self.sg.resolvable_keys(anchor.type, g):
                    continue
                snap = self._snapshot()
                try:
                    actx, deps = self._entity_ctx(anchor, g, anchor.type, None)
                except PlanningError:
                    self._restore(snap)
                    continue
                actx.group.deps |= deps
                group, selset = actx.group, actx.selset
            for t, rn, name, args, directives in ctx.chain:
                fd = self.sg.field_def(t, name)
                fgc = self.sg.field_in_graph(t, name, g)
                type_str = (fgc.type if fgc is not None and fgc.type else None) or (fd.type if fd else "")
                sub = selset.add_field(rn, name, args, directives, True, type_str)
                assert sub is not None
                selset = sub
            group.use(ctx.conds)
            tctx = _Ctx(group, selset, ctx.type, ctx.path, None, frozenset(), ctx.client, anchor, ctx.chain,
                        ctx.type_filter, ctx.conds)
            return self._add_local(tctx, f) | deps
        return None

    def _jump_inner(self, ctx: _Ctx, f: OpField) -> set[_Group]:
        cands = self._candidates(ctx.type, f, ctx.group.subgraph)
        if not cands:
            reentered = self._reenter(ctx, f)
            if reentered is not None:
                return reentered
            raise PlanningError(
                f"cannot plan {ctx.type}.{f.name} from subgraph {ctx.group.subgraph!r}: "
                "no other subgraph resolves it by a key"
            )
        if len(cands) > 1:
            def score(c: tuple[str, str]) -> tuple[int, int]:
                g, ent = c
                keys = self.sg.resolvable_keys(ent, g)
                cost = 0 if any(self._local_static(ctx.group.subgraph, ctx.type, fieldset_selections(k.selection))
                                for k in keys) else 2
                if not any(x.is_entity and x.subgraph == g and x.path == ctx.path for x in self.groups):
                    cost += 1
                if f.selections:
                    cost += self._estimate(g, ctx.type, [f])
                return (cost, self.sg.graph_order[g])

            cands.sort(key=score)
        self.depth += 1
        if self.depth > _MAX_DEPTH * 8:
            raise PlanningError("operation too deep to plan")
        try:
            first_error: PlanningError | None = None
            # undoing needs a snapshot, worth taking only when there is another way to try
            fallback = len(cands) > 1 or (ctx.anchor is not None and bool(ctx.chain))
            for graph, entity in cands:
                fg = self.sg.field_in_graph(entity, f.name, graph)
                requires = fg.requires if fg is not None else None
                snap = self._snapshot() if fallback else None
                try:
                    tctx, deps = self._entity_ctx(ctx, graph, entity, requires)
                    if fg is not None and fg.context_arguments:
                        f, cdeps = self._context_arguments(tctx.group, fg, f)
                        deps |= cdeps
                    tctx.group.deps |= deps
                    # the field itself is resolved in the target, requires or not
                    return self._add_local(tctx, f) | deps
                except PlanningError as exc:
                    # a dead end (a key this side cannot supply, say): undo, try the next way
                    if snap is None:
                        raise
                    self._restore(snap)
                    first_error = first_error or exc
            reentered = self._reenter(ctx, f)
            if reentered is not None:
                return reentered
            assert first_error is not None
            raise first_error
        finally:
            self.depth -= 1

    def _context_arguments(self, group: _Group, fg: FieldInGraph, f: OpField) -> tuple[OpField, set[_Group]]:
        """Arguments read from an ancestor (``@fromContext``): the ancestor's fields are fetched
        and the value is passed per request as a variable of the entity fetch."""
        deps: set[_Group] = set()
        extra: list[str] = []
        for carg in fg.context_arguments:
            types = self.sg.contexts.get(carg.context, set())
            accepted: set[str] = set()
            for t in types:
                accepted.add(t)
                accepted.update(self._api_possible(t))
            anc = next((a for a in reversed(self.ancestors)
                        if a.type in accepted or any(r in accepted for r in self._api_possible(a.type))), None)
            if anc is None:
                raise PlanningError(f"no ancestor sets context {carg.context!r} for {f.name}")
            sels = fieldset_selections(carg.selection)
            deps |= self._plan_sels(anc, [_typename(), *sels])
            recipe = SelSet()
            _add_fieldset(recipe, sels, self, anc.type, anc)
            var = f"__ctx{len(group.context)}_{carg.name}"
            group.context.append(ContextVariable(name=var, type=carg.type, types=frozenset(accepted),
                                                 selection=recipe))
            extra.append(f"{carg.name}: ${var}")
        args = f.args[1:-1] + ", " if f.args else ""
        return replace(f, args="(" + args + ", ".join(extra) + ")"), deps

    def _choose_key(self, source: _Ctx, keys: list[KeyInfo]) -> KeyInfo:
        for k in keys:
            if self._local_static(source.group.subgraph, source.type, fieldset_selections(k.selection)):
                return k
        return keys[0]

    def _entity_ctx(self, ctx: _Ctx, graph: str, entity: str, requires: object | None
                    ) -> tuple[_Ctx, set[_Group]]:
        """The position for ``entity`` in an entity fetch to ``graph`` at ``ctx.path``, and its inputs."""
        keys = self.sg.resolvable_keys(entity, graph)
        if not keys:
            raise PlanningError(f"subgraph {graph!r} cannot resolve {entity} by a key")
        key = self._choose_key(ctx, keys)
        key_sels = fieldset_selections(key.selection)
        deps = self._plan_sels(ctx, [_typename(), *key_sels])
        req_sels: list[OpSelection] = []
        if requires is not None:
            req_sels = fieldset_selections(requires)  # type: ignore[arg-type]
            deps |= self._plan_sels(ctx, req_sels)
        accepted = [ctx.type]
        if self._kind(entity) == "interface":
            # objects may carry the interface's name or, once another fetch told, the concrete one
            accepted.extend(r for r in [entity, *self._api_possible(entity)] if r not in accepted)
        target = None
        for g in self.groups:
            if not g.is_entity or g.subgraph != graph or g.path != ctx.path or g.section != self.section:
                continue
            if g is ctx.group or any(self._depends_on(d, g) for d in deps):
                continue
            chosen = g.rep_keys.get(ctx.type)
            if chosen is not None and chosen != key.fields:
                continue
            rep_now = g.reps.get(ctx.type)
            if rep_now is not None and req_sels and _conflicting_inputs(rep_now.selection, req_sels):
                continue  # the same input field with other arguments: a fetch of its own
            target = g
            break
        if target is None:
            target = self._new_group(graph, ctx.path, True)
        target.rep_keys[ctx.type] = key.fields
        rep = target.reps.get(ctx.type)
        if rep is None:
            rep = Representation(typename=entity, selection=SelSet())
        _add_fieldset(rep.selection, key_sels, self, ctx.type, ctx)
        if req_sels:
            _add_fieldset(rep.selection, req_sels, self, ctx.type, ctx)
        for a in accepted:
            if a not in target.reps:
                target.reps[a] = rep
        pos = target.selset.add_fragment(entity)
        entry = frozenset(s.name for s in key_sels if isinstance(s, OpField) and not s.selections)
        target.use(ctx.conds)
        tctx = _Ctx(target, pos, entity, ctx.path, None, entry, ctx.client,
                    type_filter=ctx.type_filter if entity == ctx.type else None, conds=ctx.conds)
        tctx.anchor = tctx
        return tctx, deps

    # -- plan tree -----------------------------------------------------------------------------

    def _fetch(self, g: _Group) -> PlanNode:
        kind = "query" if g.is_entity else self.op.kind
        order = list(self.op.variables)
        used = tuple(v for v in order if v in g.variables)
        var_defs = [f"${v}:{self.op.variables[v].type}{self.op.variables[v].default_text}" for v in used]
        var_defs.extend(f"${c.name}:{c.type}" for c in g.context)
        renamed = alias_conflicts([g.selset])
        body = g.selset.print_compact()
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
            # only entity fetches are skipped: a root fetch also carries the operation's shape
            conditions=tuple(sorted(g.conds, key=lambda c: (c[0], str(c[1])))) if g.is_entity and g.conds else (),
        )
        if g.is_entity:
            return FlattenNode(path=g.path, node=node)
        return node

    def _tree(self, groups: list[_Group], roots: list[_Group], kind: str) -> PlanNode | None:
        groups = [g for g in groups if not g.selset.is_empty()]
        if not groups:
            return None
        ids = {g.id for g in groups}
        for g in groups:
            g.deps = {d for d in g.deps if d.id in ids and d is not g}
        _needed_by_dependents(groups)
        return self._arrange(groups)

    def _arrange(self, groups: list[_Group]) -> PlanNode:
        """Sequence/Parallel nodes for ``groups`` (non-empty, deps restricted to them, id order).

        Independent parts (no dependency between them) run in parallel; a part where each fetch
        waits for at most one other is a tree (most parallel and readable); otherwise the fetches
        nothing waits on go first and the rest is arranged again, so unrelated chains below a
        shared step still run side by side."""
        members = {g.id for g in groups}

        def deps(g: _Group) -> list[_Group]:
            return sorted((d for d in g.deps if d.id in members), key=lambda d: d.id)

        parts = _components(groups, deps)
        if len(parts) > 1:
            return ParallelNode(tuple(self._arrange(p) for p in parts))
        if all(len(deps(g)) <= 1 for g in groups):
            children: dict[int, list[_Group]] = {}
            tops: list[_Group] = []
            for g in groups:
                ds = deps(g)
                if ds:
                    children.setdefault(ds[0].id, []).append(g)
                else:
                    tops.append(g)

            def node(g: _Group) -> PlanNode:
                own = self._fetch(g)
                kids = children.get(g.id, [])
                if not kids:
                    return own
                sub = [node(k) for k in kids]
                rest: PlanNode = sub[0] if len(sub) == 1 else ParallelNode(tuple(sub))
                return SequenceNode((own, *_flatten_seq(rest)))

            top = [node(g) for g in tops]
            return top[0] if len(top) == 1 else ParallelNode(tuple(top))
        first = [g for g in groups if not deps(g)]
        later = [g for g in groups if deps(g)]
        fetches = [self._fetch(g) for g in first]
        head: PlanNode = fetches[0] if len(fetches) == 1 else ParallelNode(tuple(fetches))
        return SequenceNode((head, *_flatten_seq(self._arrange(later))))

    def _tree_sections(self, sections: list[_Group], kind: str) -> PlanNode | None:
        parts: list[PlanNode] = []
        for root in sections:
            members = [g for g in self.groups if g.section == root.section]
            t = self._tree(members, [root], kind)
            if t is not None:
                parts.extend(_flatten_seq(t))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else SequenceNode(tuple(parts))


def _components(groups: list[_Group], deps: Any) -> list[list[_Group]]:
    """``groups`` split into weakly connected parts by ``deps``, each in id order, parts by first id."""
    parent = {g.id: g.id for g in groups}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for g in groups:
        for d in deps(g):
            a, b = find(g.id), find(d.id)
            if a != b:
                parent[max(a, b)] = min(a, b)
    by_root: dict[int, list[_Group]] = {}
    for g in groups:
        by_root.setdefault(find(g.id), []).append(g)
    return [by_root[r] for r in sorted(by_root)]


def _flatten_seq(node: PlanNode) -> tuple[PlanNode, ...]:
    if isinstance(node, SequenceNode):
        return node.nodes
    return (node,)


def _base(type_str: str) -> str:
    return type_str.replace("[", "").replace("]", "").replace("!", "")


def _conflicting_inputs(existing: SelSet, sels: list[OpSelection]) -> bool:
    """Whether ``sels`` name a field ``existing`` already sends with other arguments."""
    have = {item.name: item.args for item in existing.items.values() if isinstance(item, FieldItem)}
    return any(isinstance(s, OpField) and s.name in have and have[s.name] != s.args for s in sels)


def _client_names(sels: list[OpSelection], out: dict[str, tuple[str, str]]) -> None:
    for s in sels:
        if isinstance(s, OpFragment):
            _client_names(s.selections, out)
        elif not s.helper:
            out.setdefault(s.response_name, (s.name, s.args))


def _add_fieldset(target: SelSet, sels: list[OpSelection], build: _PlanBuild, type_name: str,
                  ctx: _Ctx | None = None) -> None:
    """Record key / @requires fields in a representation recipe (data key = where the data sits)."""
    for s in sels:
        if isinstance(s, OpFragment):
            _add_fieldset(target.add_fragment(s.type_condition), s.selections, build,
                          s.type_condition or type_name, ctx)
            continue
        fd = build.sg.field_def(type_name, s.name)
        composite = bool(s.selections)
        rn = _helper_name(s, ctx.client if ctx is not None else None)
        sub = target.add_field(rn, s.name, s.args, "", composite)
        if sub is not None and s.selections and fd is not None:
            _add_fieldset(sub, s.selections, build, _base(fd.type))
