"""Static cost of an operation, per the IBM GraphQL cost spec as Apollo Router applies it.

* an operation costs 10 when it is a mutation, 0 otherwise, plus the cost of its fields;
* a field costs its type's weight (objects, interfaces and unions 1, scalars and enums 0,
  ``@cost(weight:)`` on the type or on the field itself overriding), plus its selections,
  plus the ``@cost`` weights of the arguments it is given;
* a list field multiplies that by its size: the value of its slicing argument
  (``@listSize(slicingArguments:)``, variables resolved), else ``assumedSize``, else the
  configured default list size; ``sizedFields`` hand the slicing argument's value to the
  named child lists instead (connections: ``edges``, ``nodes``);
* ``requireOneSlicingArgument`` (true by default when slicing arguments are declared): a
  request that does not give exactly one of them is refused (``COST_QUERY_PARSE_FAILURE``).

The walk records whether a variable decided a size, so that a caller can keep the estimate
of an operation whose cost does not depend on its variables.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_composite_type,
    is_list_type,
    value_from_ast_untyped,
)
from graphql.type import GraphQLCompositeType, GraphQLField

from gateway.supergraph.cost import CostAnnotations, ListSizeSpec

MUTATION_BASE_COST = 10
OBJECT_WEIGHT = 1
LEAF_WEIGHT = 0
COST_QUERY_PARSE_FAILURE = "COST_QUERY_PARSE_FAILURE"


class CostError(Exception):
    """The operation breaks a ``@listSize`` rule (``requireOneSlicingArgument``)."""

    code = COST_QUERY_PARSE_FAILURE


@dataclass(frozen=True, slots=True)
class Estimate:
    """An operation's estimated cost; ``uses_variables``: a variable's value decided a list size."""

    cost: float
    uses_variables: bool


class CostModel:
    """The weights of one supergraph (API schema + ``@cost`` / ``@listSize``), used for every operation."""

    def __init__(self, schema: GraphQLSchema, annotations: CostAnnotations, default_list_size: int) -> None:
        self.schema = schema
        self.annotations = annotations
        self.default_list_size = default_list_size

    def type_weight(self, type_name: str) -> int:
        t = self.schema.get_type(type_name)
        w = self.annotations.type_weights.get(type_name)
        if w is not None:
            return w
        return OBJECT_WEIGHT if t is not None and is_composite_type(t) else LEAF_WEIGHT

    def field_weight(self, parent: str, name: str, field_type_name: str) -> int:
        w = self.annotations.field_weights.get(f"{parent}.{name}")
        return w if w is not None else self.type_weight(field_type_name)

    def field_def(self, parent: GraphQLCompositeType, name: str) -> GraphQLField | None:
        fields = getattr(parent, "fields", None)
        return fields.get(name) if fields else None

    def estimate(
        self,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any] | None,
    ) -> Estimate:
        """The estimated cost; raises :class:`CostError` when a slicing rule is broken."""
        walk = _Walk(self, fragments, variables or {})
        root = self.schema.get_root_type(operation.operation)
        assert root is not None
        base = MUTATION_BASE_COST if operation.operation.value == "mutation" else 0
        cost = base + walk.selection(root, operation.selection_set, {})
        return Estimate(cost=float(cost), uses_variables=walk.uses_variables)


class _Walk:
    def __init__(
        self, model: CostModel, fragments: Mapping[str, FragmentDefinitionNode], variables: Mapping[str, Any]
    ) -> None:
        self.model = model
        self.fragments = fragments
        self.variables = variables
        self.uses_variables = False

    def selection(self, parent: GraphQLCompositeType, sel: SelectionSetNode, sized: dict[str, int]) -> float:
        """The fields of ``sel`` merged as execution merges them (by response key, fragments spread once)."""
        collected: dict[tuple[str, str], tuple[GraphQLCompositeType, list[FieldNode]]] = {}
        self._collect(parent, sel, collected, set())
        return sum(self.field(p, merged(nodes), sized) for p, nodes in collected.values())

    def _collect(
        self,
        parent: GraphQLCompositeType,
        sel: SelectionSetNode,
        out: dict[tuple[str, str], tuple[GraphQLCompositeType, list[FieldNode]]],
        seen: set[str],
    ) -> None:
        for s in sel.selections:
            if isinstance(s, FieldNode):
                key = (parent.name, s.alias.value if s.alias else s.name.value)
                out.setdefault(key, (parent, []))[1].append(s)
            elif isinstance(s, InlineFragmentNode):
                cond = self.model.schema.get_type(s.type_condition.name.value) if s.type_condition else parent
                self._collect(cond or parent, s.selection_set, out, seen)  # type: ignore[arg-type]
            elif isinstance(s, FragmentSpreadNode) and s.name.value not in seen:
                seen.add(s.name.value)
                frag = self.fragments.get(s.name.value)
                if frag is not None:
                    cond = self.model.schema.get_type(frag.type_condition.name.value)
                    self._collect(cond or parent, frag.selection_set, out, seen)  # type: ignore[arg-type]

    def _argument(self, node: FieldNode, name: str) -> tuple[bool, Any]:
        for a in node.arguments or ():
            if a.name.value == name:
                if isinstance(a.value, VariableNode):
                    self.uses_variables = True
                    var = a.value.name.value
                    return var in self.variables and self.variables[var] is not None, self.variables.get(var)
                value = value_from_ast_untyped(a.value, dict(self.variables))
                return value is not None, value
        return False, None

    def _slicing(self, parent: str, node: FieldNode, fdef: GraphQLField, spec: ListSizeSpec) -> int | None:
        given: list[int] = []
        for name in spec.slicing_arguments:
            present, value = self._argument(node, name)
            if not present and name in fdef.args and fdef.args[name].default_value is not None:
                present, value = True, fdef.args[name].default_value
            if present and isinstance(value, int):
                given.append(value)
        if spec.require_one_slicing_argument and spec.slicing_arguments and len(given) != 1:
            raise CostError(
                f"Exactly one slicing argument of {', '.join(spec.slicing_arguments)} is required on "
                f"{parent}.{node.name.value}, {len(given)} given."
            )
        return max(given) if given else None

    def field(self, parent: GraphQLCompositeType, node: FieldNode, sized: dict[str, int]) -> float:
        name = node.name.value
        if name.startswith("__"):
            return 0.0
        fdef = self.model.field_def(parent, name)
        if fdef is None:
            return 0.0
        named = get_named_type(fdef.type)
        coord = f"{parent.name}.{name}"
        cost: float = self.model.field_weight(parent.name, name, named.name)
        spec = self.model.annotations.list_sizes.get(coord)
        size = sized.get(name)
        child_sized: dict[str, int] = {}
        if spec is not None:
            sliced = self._slicing(parent.name, node, fdef, spec)
            own = sliced if sliced is not None else spec.assumed_size
            if spec.sized_fields:
                child_sized = {f: own if own is not None else self.model.default_list_size for f in spec.sized_fields}
            elif size is None:
                size = own
        if node.selection_set is not None and is_composite_type(named):
            cost += self.selection(named, node.selection_set, child_sized)  # type: ignore[arg-type]
        if is_list_type(get_nullable_type(fdef.type)):  # type: ignore[arg-type]
            cost *= size if size is not None else self.model.default_list_size
        for a in node.arguments or ():
            w = self.model.annotations.argument_weights.get(f"{coord}({a.name.value}:)")
            if w is not None:
                cost += w
        return cost


def merged(nodes: list[FieldNode]) -> FieldNode:
    """One field node for the same response key selected several times: the selections joined."""
    if len(nodes) == 1:
        return nodes[0]
    selections = tuple(s for n in nodes if n.selection_set is not None for s in n.selection_set.selections)
    if not selections:
        return nodes[0]
    return dataclasses.replace(nodes[0], selection_set=SelectionSetNode(selections=selections))
