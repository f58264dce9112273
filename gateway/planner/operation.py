"""The client operation, normalised: fragments inlined, @skip/@include kept as conditions.

Both the planner (to build subgraph selections) and the response formatter (to
shape the final response in the client's field order) walk this structure, so
it is built once per distinct operation and cached with the plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ArgumentNode,
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    print_ast,
)

from gateway.supergraph.parser import type_to_str

# A condition is (directive name, literal bool or variable name); all must hold.
Condition = tuple[str, bool | str]


@dataclass(slots=True)
class OpField:
    """A field selection of the client operation (or of a federation field set)."""

    response_name: str
    name: str
    args: str = ""  # printed arguments, "(a: $x)" or ""
    directives: str = ""  # printed @skip/@include, forwarded to subgraphs as is
    conditions: tuple[Condition, ...] = ()
    variables: frozenset[str] = frozenset()
    selections: list[OpSelection] | None = None
    arg_nodes: tuple[ArgumentNode, ...] = ()
    helper: bool = False  # from a key / @requires field set, not asked for by the client


@dataclass(slots=True)
class OpFragment:
    """An inline fragment (named fragment spreads are inlined into these)."""

    type_condition: str | None
    selections: list[OpSelection]
    directives: str = ""
    conditions: tuple[Condition, ...] = ()
    variables: frozenset[str] = frozenset()
    defer: DeferDirective | None = None


@dataclass(frozen=True, slots=True)
class DeferDirective:
    """An ``@defer`` on a fragment: its ``label`` and its ``if`` (a literal, or a variable's name).

    Only incremental delivery reads it (:mod:`gateway.planner.defer`); everything else treats
    the fragment as a plain inline fragment, which is what the merged answer is."""

    label: str | None
    condition: bool | str = True


OpSelection = OpField | OpFragment


@dataclass(slots=True)
class VariableDef:
    """A variable definition of the operation: printed type and default (JSON value)."""

    name: str
    type: str
    has_default: bool = False
    default: Any = None
    default_text: str = ""  # printed default, kept in subgraph variable definitions


@dataclass(slots=True)
class NormalizedOperation:
    """One executable operation of a document, ready for planning and response shaping."""

    kind: str  # query | mutation | subscription
    name: str | None
    selections: list[OpSelection]
    variables: dict[str, VariableDef] = field(default_factory=dict)


def _variables_in(node: ValueNode, out: set[str]) -> None:
    if isinstance(node, VariableNode):
        out.add(node.name.value)
    elif isinstance(node, ListValueNode):
        for v in node.values:
            _variables_in(v, out)
    elif isinstance(node, ObjectValueNode):
        for f in node.fields:
            _variables_in(f.value, out)


def _conditions(directives: Sequence[DirectiveNode] | None) -> tuple[str, tuple[Condition, ...], set[str]]:
    printed: list[str] = []
    conds: list[Condition] = []
    used: set[str] = set()
    for d in directives or ():
        name = d.name.value
        if name not in ("skip", "include"):
            continue  # other executable directives are not forwarded (nothing defines them downstream)
        arg = next((a for a in d.arguments or () if a.name.value == "if"), None)
        if arg is None:
            continue
        if isinstance(arg.value, BooleanValueNode):
            conds.append((name, arg.value.value))
        elif isinstance(arg.value, VariableNode):
            conds.append((name, arg.value.name.value))
            used.add(arg.value.name.value)
        printed.append(print_ast(d))
    return (" " + " ".join(printed)) if printed else "", tuple(conds), used


def _defer(directives: Sequence[DirectiveNode] | None) -> DeferDirective | None:
    """The fragment's ``@defer`` (validation has checked its arguments)."""
    for d in directives or ():
        if d.name.value != "defer":
            continue
        label: str | None = None
        condition: bool | str = True
        for a in d.arguments or ():
            if a.name.value == "label" and isinstance(a.value, StringValueNode):
                label = a.value.value
            elif a.name.value == "if":
                if isinstance(a.value, BooleanValueNode):
                    condition = a.value.value
                elif isinstance(a.value, VariableNode):
                    condition = a.value.name.value
        return DeferDirective(label, condition)
    return None


def value_to_json(node: ValueNode) -> Any:
    """A literal (variable-free) value as JSON."""
    from graphql import value_from_ast_untyped

    return value_from_ast_untyped(node)


def _print_args(args: Sequence[ArgumentNode]) -> str:
    if not args:
        return ""
    return "(" + ", ".join(f"{a.name.value}: {print_ast(a.value)}" for a in args) + ")"


class _Normalizer:
    """Builds :class:`OpSelection` trees; each named fragment is normalised once.

    A fragment's selections are the same wherever it is spread (they depend only on the
    fragment's own text), so the first spread normalises them and every later spread
    shares that list: the work is linear in the document and its distinct fragments.
    A spread repeating an earlier spread of the same fragment, with the same directives,
    in the same selection set adds nothing (the spec's field collection visits a fragment
    once) and is dropped, so ``...A ...A`` nested N times stays N levels, not 2^N copies.
    The lists are shared, never mutated: the planner and the response shaper only read them.
    """

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode], helper: bool = False) -> None:
        self.fragments = fragments
        self.helper = helper
        self._memo: dict[str, list[OpSelection]] = {}
        self._active: set[str] = set()

    def selections(self, node: SelectionSetNode | None) -> list[OpSelection]:
        out: list[OpSelection] = []
        if node is None:
            return out
        spread: set[tuple[str, str, DeferDirective | None]] = set()
        for sel in node.selections:
            if isinstance(sel, FieldNode):
                printed, conds, used = _conditions(sel.directives)
                for a in sel.arguments or ():
                    _variables_in(a.value, used)
                out.append(
                    OpField(
                        response_name=sel.alias.value if sel.alias else sel.name.value,
                        name=sel.name.value,
                        args=_print_args(sel.arguments or ()),
                        directives=printed,
                        conditions=conds,
                        variables=frozenset(used),
                        selections=self.selections(sel.selection_set) if sel.selection_set else None,
                        arg_nodes=tuple(sel.arguments or ()),
                        helper=self.helper,
                    )
                )
            elif isinstance(sel, InlineFragmentNode):
                printed, conds, used = _conditions(sel.directives)
                out.append(
                    OpFragment(
                        type_condition=sel.type_condition.name.value if sel.type_condition else None,
                        selections=self.selections(sel.selection_set),
                        directives=printed,
                        conditions=conds,
                        variables=frozenset(used),
                        defer=_defer(sel.directives),
                    )
                )
            elif isinstance(sel, FragmentSpreadNode):
                name = sel.name.value
                frag = self.fragments.get(name)
                if frag is None or name in self._active:
                    continue  # validation rejects these; never loop
                printed, conds, used = _conditions(sel.directives)
                defer = _defer(sel.directives)
                if (name, printed, defer) in spread:
                    continue
                spread.add((name, printed, defer))
                out.append(
                    OpFragment(
                        type_condition=frag.type_condition.name.value,
                        selections=self._fragment(name, frag),
                        directives=printed,
                        conditions=conds,
                        variables=frozenset(used),
                        defer=defer,
                    )
                )
        return out

    def _fragment(self, name: str, frag: FragmentDefinitionNode) -> list[OpSelection]:
        memo = self._memo.get(name)
        if memo is None:
            self._active.add(name)
            try:
                memo = self._memo[name] = self.selections(frag.selection_set)
            finally:
                self._active.discard(name)
        return memo


def normalize_operation(document: DocumentNode, operation: OperationDefinitionNode) -> NormalizedOperation:
    """Normalise ``operation`` of ``document`` (which must be valid against the API schema)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    variables: dict[str, VariableDef] = {}
    for vd in operation.variable_definitions or ():
        name = vd.variable.name.value
        variables[name] = VariableDef(
            name=name,
            type=type_to_str(vd.type),
            has_default=vd.default_value is not None,
            default=value_to_json(vd.default_value) if vd.default_value is not None else None,
            default_text=("=" + print_ast(vd.default_value)) if vd.default_value is not None else "",
        )
    return NormalizedOperation(
        kind=operation.operation.value,
        name=operation.name.value if operation.name else None,
        selections=_Normalizer(fragments).selections(operation.selection_set),
        variables=variables,
    )


def fieldset_selections(node: SelectionSetNode) -> list[OpSelection]:
    """A federation field set (keys, requires, provides) as selections."""
    return _Normalizer({}, helper=True).selections(node)


def conditions_hold(conditions: tuple[Condition, ...], variables: Mapping[str, Any]) -> bool:
    """Evaluate @skip/@include conditions against coerced variables."""
    for directive, value in conditions:
        flag = value if isinstance(value, bool) else bool(variables.get(value))
        if directive == "skip" and flag:
            return False
        if directive == "include" and not flag:
            return False
    return True


def nullable_condition_variables(op: NormalizedOperation) -> tuple[str, ...]:
    """The nullable variables an @skip/@include of ``op`` reads, in definition order.

    Validation lets a nullable variable reach the non-null ``if`` only with a default; an
    explicit null for one of them is still a request error (the default does not apply)."""
    used: set[str] = set()
    stack: list[OpSelection] = list(op.selections)
    while stack:
        s = stack.pop()
        used.update(v for _directive, v in s.conditions if isinstance(v, str))
        stack.extend(s.selections or ())
    return tuple(n for n, vd in op.variables.items() if n in used and not vd.type.endswith("!"))
