"""Key jumps: resolving a field in another subgraph than the one holding its parent object.

* an entity jump by a key the current subgraph can supply (several hops when needed),
  with the field's ``@requires`` (and ``@fromContext`` arguments) gathered first,
  possibly from yet other subgraphs;
* through an ``@interfaceObject`` when the field lives on an interface there;
* when no key leads there, by asking another subgraph for the same path from the
  nearest anchor: the operation root (shared root fields of keyless types) or the
  nearest entity above (a value type split over subgraphs).

Among several candidates it asks the cost model, preferring a fetch group that
already exists for the same response path; a dead end is undone (see
:meth:`gateway.planner.groups.FetchGroups.snapshot`) and the next way tried.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, NamedTuple

from gateway.planner.cost import JumpChoice
from gateway.planner.errors import PlanningError
from gateway.planner.groups import FetchGroup
from gateway.planner.nodes import ContextVariable, FieldItem, Representation, SelSet
from gateway.planner.operation import OpField, OpFragment, OpSelection, fieldset_selections
from gateway.planner.position import ChainStep, ClientNames, Position, base_type, helper_name, typename_field
from gateway.planner.questions import JumpTarget, jump_targets, resolves_directly
from gateway.supergraph.model import FieldInGraph, KeyInfo, Supergraph

if TYPE_CHECKING:
    from gateway.planner.walk import Walk


class JumpInProgress(NamedTuple):
    """A jump being planned: one that needs itself (a key @external here, say) has no way through."""

    subgraph: str
    type: str
    path: tuple[str, ...]
    field: str


class KeyJumps:
    """The edges of one planning attempt's walk into other subgraphs."""

    def __init__(self, walk: Walk) -> None:
        self.walk = walk
        self.sg = walk.sg
        self.jumping: set[JumpInProgress] = set()

    def jump(self, pos: Position, f: OpField) -> set[FetchGroup]:
        """Resolve ``f`` at ``pos`` in another subgraph."""
        marker = JumpInProgress(subgraph=pos.group.subgraph, type=pos.type, path=pos.path, field=f.name)
        if marker in self.jumping:
            # resolving f needs f itself (say a key that is @external here): no way through
            raise PlanningError(f"cannot resolve {pos.type}.{f.name} from subgraph {pos.group.subgraph!r}")
        self.jumping.add(marker)
        try:
            return self._jump(pos, f)
        finally:
            self.jumping.discard(marker)

    def _ranked(self, pos: Position, f: OpField, targets: list[JumpTarget]) -> list[JumpTarget]:
        sg, groups = self.sg, self.walk.groups

        def score(t: JumpTarget) -> tuple[int, int]:
            keys = sg.resolvable_keys(t.entity, t.graph)
            choice = JumpChoice(
                key_local=any(resolves_directly(sg, pos.group.subgraph, pos.type, fieldset_selections(k.selection))
                              for k in keys),
                fetch_exists=groups.has_entity_fetch(t.graph, pos.path),
                selection_cost=self.walk.cost.estimate(t.graph, pos.type, [f]) if f.selections else 0,
            )
            return (self.walk.cost.jump_cost(choice), sg.graph_order[t.graph])

        return sorted(targets, key=score)

    def _jump(self, pos: Position, f: OpField) -> set[FetchGroup]:
        targets = jump_targets(self.sg, pos.type, f, pos.group.subgraph)
        if not targets:
            reentered = self.reenter(pos, f)
            if reentered is not None:
                return reentered
            raise PlanningError(
                f"cannot plan {pos.type}.{f.name} from subgraph {pos.group.subgraph!r}: "
                "no other subgraph resolves it by a key"
            )
        if len(targets) > 1:
            targets = self._ranked(pos, f, targets)
        walk = self.walk
        walk.deeper()
        try:
            first_error: PlanningError | None = None
            # undoing needs a snapshot, worth taking only when there is another way to try
            fallback = len(targets) > 1 or any(chain for _, chain in pos.anchors())
            for graph, entity in targets:
                fg = self.sg.field_in_graph(entity, f.name, graph)
                requires = fg.requires if fg is not None else None
                snap = walk.groups.snapshot() if fallback else None
                try:
                    tpos, deps = self.entity_position(pos, graph, entity, requires)
                    if fg is not None and fg.context_arguments:
                        f, cdeps = self._context_arguments(tpos.group, fg, f)
                        deps |= cdeps
                    tpos.group.deps |= deps
                    # the field itself is resolved in the target, requires or not
                    return walk.add_local(tpos, f) | deps
                except PlanningError as exc:
                    # a dead end (a key this side cannot supply, say): undo, try the next way
                    if snap is None:
                        raise
                    walk.groups.restore(snap)
                    first_error = first_error or exc
            reentered = self.reenter(pos, f)
            if reentered is not None:
                return reentered
            assert first_error is not None
            raise first_error
        finally:
            walk.depth -= 1

    def reenter(self, pos: Position, f: OpField) -> set[FetchGroup] | None:
        """Fetch ``f`` by asking another subgraph for the same path from an anchor, nearest first
        (:meth:`Position.anchors`): the root (shared root fields; queries only, a mutation must not
        run twice) or an entity (its field leading here is resolved by another subgraph too)."""
        for anchor, chain in pos.anchors():
            if chain:
                found = self._reenter_from(pos, f, anchor, chain)
                if found is not None:
                    return found
        return None

    def _reenter_from(self, pos: Position, f: OpField, anchor: Position, chain: tuple[ChainStep, ...]
                      ) -> set[FetchGroup] | None:
        sg, walk = self.sg, self.walk
        at_root = not anchor.path and not anchor.group.is_entity
        if at_root and walk.op.kind != "query":
            return None
        for g in sg.subgraphs:
            if g == pos.group.subgraph:
                continue
            if not all(_step_in_graph(sg, step, g) for step in chain):
                continue
            fg = sg.field_in_graph(pos.type, f.name, g)
            if fg is None or fg.external or fg.inactive or fg.requires is not None:
                continue
            if at_root:
                group = walk.groups.root_groups.get(g)
                if group is None:
                    group = walk.groups.root_groups[g] = walk.groups.new(g, (), is_entity=False)
                if chain[0].response_name not in group.root_fields:
                    group.root_fields.append(chain[0].response_name)
                selset = group.selset
                deps: set[FetchGroup] = set()
            else:
                if not sg.resolvable_keys(anchor.type, g):
                    continue
                snap = walk.groups.snapshot()
                try:
                    # only needed when the field is: the re-entry (and the key it needs) carries its conditions
                    apos, deps = self.entity_position(replace(anchor, conds=pos.conds), g, anchor.type, None)
                except PlanningError:
                    walk.groups.restore(snap)
                    continue
                apos.group.deps |= deps
                group, selset = apos.group, apos.selset
            for step in chain:
                if step.type_condition:
                    selset = selset.add_fragment(step.type_condition)
                    continue
                fd = sg.field_def(step.parent_type, step.name)
                fgc = sg.field_in_graph(step.parent_type, step.name, g)
                type_str = (fgc.type if fgc is not None and fgc.type else None) or (fd.type if fd else "")
                sub = selset.add_field(step.response_name, step.name, step.args, step.directives, True, type_str)
                group.variables |= step.variables
                assert sub is not None
                selset = sub
            group.use(pos.conds)
            tpos = Position(group=group, selset=selset, type=pos.type, path=pos.path, client=pos.client,
                            anchor=anchor, chain=chain, type_filter=pos.type_filter, conds=pos.conds)
            return walk.add_local(tpos, f) | deps
        return None

    def _context_arguments(self, group: FetchGroup, fg: FieldInGraph, f: OpField) -> tuple[OpField, set[FetchGroup]]:
        """Arguments read from an ancestor (``@fromContext``): the ancestor's fields are fetched
        and the value is passed per request as a variable of the entity fetch."""
        sg = self.sg
        deps: set[FetchGroup] = set()
        extra: list[str] = []
        for carg in fg.context_arguments:
            types = sg.contexts.get(carg.context, set())
            accepted: set[str] = set()
            for t in types:
                accepted.add(t)
                accepted.update(sg.api_possible_types(t))
            anc = next((a for a in reversed(self.walk.ancestors)
                        if a.type in accepted or any(r in accepted for r in sg.api_possible_types(a.type))), None)
            if anc is None:
                raise PlanningError(f"no ancestor sets context {carg.context!r} for {f.name}")
            sels = fieldset_selections(carg.selection)
            deps |= self.walk.plan_sels(anc, [typename_field(), *sels])
            recipe = SelSet()
            self.add_fieldset(recipe, sels, anc.type, anc.client)
            var = f"__ctx{len(group.context)}_{carg.name}"
            group.context.append(ContextVariable(name=var, type=carg.type, types=frozenset(accepted),
                                                 selection=recipe))
            extra.append(f"{carg.name}: ${var}")
        args = f.args[1:-1] + ", " if f.args else ""
        return replace(f, args="(" + args + ", ".join(extra) + ")"), deps

    def _choose_key(self, source: Position, keys: list[KeyInfo]) -> KeyInfo:
        for k in keys:
            if resolves_directly(self.sg, source.group.subgraph, source.type, fieldset_selections(k.selection)):
                return k
        return keys[0]

    def _target_group(self, pos: Position, graph: str, key: KeyInfo, deps: set[FetchGroup],
                      req_sels: list[OpSelection]) -> FetchGroup:
        """An entity fetch to ``graph`` at ``pos.path`` that can take these objects, or a new one."""
        groups = self.walk.groups
        for g in groups.groups:
            if not g.is_entity or g.subgraph != graph or g.path != pos.path or g.section != groups.section:
                continue
            if g is pos.group or any(d.depends_on(g) for d in deps):
                continue
            chosen = g.rep_keys.get(pos.type)
            if chosen is not None and chosen != key.fields:
                continue
            rep_now = g.reps.get(pos.type)
            if rep_now is not None and req_sels and _conflicting_inputs(rep_now.selection, req_sels):
                continue  # the same input field with other arguments: a fetch of its own
            return g
        return groups.new(graph, pos.path, is_entity=True)

    def entity_position(self, pos: Position, graph: str, entity: str, requires: object | None
                        ) -> tuple[Position, set[FetchGroup]]:
        """The position for ``entity`` in an entity fetch to ``graph`` at ``pos.path``, and its inputs."""
        sg, walk = self.sg, self.walk
        keys = sg.resolvable_keys(entity, graph)
        if not keys:
            raise PlanningError(f"subgraph {graph!r} cannot resolve {entity} by a key")
        key = self._choose_key(pos, keys)
        key_sels = fieldset_selections(key.selection)
        deps = walk.plan_sels(pos, [typename_field(), *key_sels])
        req_sels: list[OpSelection] = []
        if requires is not None:
            req_sels = fieldset_selections(requires)  # type: ignore[arg-type]
            deps |= walk.plan_sels(pos, req_sels)
        accepted = [pos.type]
        if sg.kind(entity) == "interface":
            # objects may carry the interface's name or, once another fetch told, the concrete one
            accepted.extend(r for r in [entity, *sg.api_possible_types(entity)] if r not in accepted)
        target = self._target_group(pos, graph, key, deps, req_sels)
        target.rep_keys[pos.type] = key.fields
        rep = target.reps.get(pos.type)
        if rep is None:
            rep = Representation(typename=entity, selection=SelSet())
        self.add_fieldset(rep.selection, key_sels, pos.type, pos.client)
        if req_sels:
            self.add_fieldset(rep.selection, req_sels, pos.type, pos.client)
        for a in accepted:
            if a not in target.reps:
                target.reps[a] = rep
        entry = target.selset.add_fragment(entity)
        key_fields = frozenset(s.name for s in key_sels if isinstance(s, OpField) and not s.selections)
        target.use(pos.conds)
        tpos = Position(group=target, selset=entry, type=entity, path=pos.path, entry_key=key_fields,
                        client=pos.client, type_filter=pos.type_filter if entity == pos.type else None,
                        conds=pos.conds)
        tpos.anchor = tpos
        return tpos, deps

    def add_fieldset(self, target: SelSet, sels: list[OpSelection], type_name: str,
                     client: ClientNames | None = None) -> None:
        """Record key / @requires fields in a representation recipe (data key = where the data sits)."""
        for s in sels:
            if isinstance(s, OpFragment):
                self.add_fieldset(target.add_fragment(s.type_condition), s.selections, s.type_condition or type_name,
                                  client)
                continue
            fd = self.sg.field_def(type_name, s.name)
            rn = helper_name(s, client)
            sub = target.add_field(rn, s.name, s.args, "", bool(s.selections))
            if sub is not None and s.selections and fd is not None:
                self.add_fieldset(sub, s.selections, base_type(fd.type))


def _step_in_graph(sg: Supergraph, step: ChainStep, graph: str) -> bool:
    """Whether ``graph`` can take one step of a chain: resolve its field, or narrow to its type."""
    tc = step.type_condition
    if tc is None:
        return sg.can_resolve(step.parent_type, step.name, graph)
    if not sg.type_in_graph(tc, graph):
        return False
    return sg.kind(tc) != "object" or tc in sg.possible_types_in_graph(step.parent_type, graph)


def _conflicting_inputs(existing: SelSet, sels: list[OpSelection]) -> bool:
    """Whether ``sels`` name a field ``existing`` already sends with other arguments."""
    have = {item.name: item.args for item in existing.items.values() if isinstance(item, FieldItem)}
    return any(isinstance(s, OpField) and s.name in have and have[s.name] != s.args for s in sels)
