"""Actual cost: the same weights as the estimate, counted on the response with the real list lengths.

A field absent from the response, or null, costs nothing; a list costs the sum of its items;
an object costs its field's weight plus its selections, with type conditions decided by the
object's ``__typename`` when the response has it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
    is_composite_type,
)
from graphql.type import GraphQLCompositeType

from .estimator import MUTATION_BASE_COST, CostModel, merged


def actual_cost(
    model: CostModel,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    data: Mapping[str, Any] | None,
) -> float:
    """The cost of the response ``data`` to ``operation``."""
    base = MUTATION_BASE_COST if operation.operation.value == "mutation" else 0
    root = model.schema.get_root_type(operation.operation)
    if data is None or root is None:
        return float(base)
    return base + _Counter(model, fragments).selection(root, operation.selection_set, data)


class _Counter:
    def __init__(self, model: CostModel, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.model = model
        self.schema: GraphQLSchema = model.schema
        self.fragments = fragments

    def _applies(self, condition: str | None, value: Mapping[str, Any]) -> bool:
        typename = value.get("__typename")
        if condition is None or not isinstance(typename, str):
            return True
        if condition == typename:
            return True
        t = self.schema.get_type(condition)
        concrete = self.schema.get_type(typename)
        if t is None or concrete is None or not is_abstract_type(t):
            return False
        return self.schema.is_sub_type(t, concrete)  # type: ignore[arg-type]

    def selection(self, parent: GraphQLCompositeType, sel: SelectionSetNode, value: Mapping[str, Any]) -> float:
        collected: dict[str, tuple[GraphQLCompositeType, list[FieldNode]]] = {}
        self._collect(parent, sel, value, collected, set())
        return sum(self.field(p, merged(nodes), value[key]) for key, (p, nodes) in collected.items() if key in value)

    def _collect(
        self,
        parent: GraphQLCompositeType,
        sel: SelectionSetNode,
        value: Mapping[str, Any],
        out: dict[str, tuple[GraphQLCompositeType, list[FieldNode]]],
        seen: set[str],
    ) -> None:
        for s in sel.selections:
            if isinstance(s, FieldNode):
                out.setdefault(s.alias.value if s.alias else s.name.value, (parent, []))[1].append(s)
            elif isinstance(s, InlineFragmentNode):
                cond = s.type_condition.name.value if s.type_condition else None
                if self._applies(cond, value):
                    t = self.schema.get_type(cond) if cond else parent
                    self._collect(t or parent, s.selection_set, value, out, seen)  # type: ignore[arg-type]
            elif isinstance(s, FragmentSpreadNode) and s.name.value not in seen:
                seen.add(s.name.value)
                frag = self.fragments.get(s.name.value)
                if frag is not None and self._applies(frag.type_condition.name.value, value):
                    t = self.schema.get_type(frag.type_condition.name.value)
                    self._collect(t or parent, frag.selection_set, value, out, seen)  # type: ignore[arg-type]

    def field(self, parent: GraphQLCompositeType, node: FieldNode, value: Any) -> float:
        name = node.name.value
        if name.startswith("__"):
            return 0.0
        fdef = self.model.field_def(parent, name)
        if fdef is None:
            return 0.0
        named = get_named_type(fdef.type)
        coord = f"{parent.name}.{name}"
        args = sum(
            self.model.annotations.argument_weights.get(f"{coord}({a.name.value}:)", 0) for a in node.arguments or ()
        )
        return args + self._value(parent.name, node, named, value)

    def _value(self, parent: str, node: FieldNode, named: Any, value: Any) -> float:
        if value is None:
            return 0.0
        if isinstance(value, list):
            return sum(self._value(parent, node, named, item) for item in value)
        weight = float(self.model.field_weight(parent, node.name.value, named.name))
        if isinstance(value, dict) and node.selection_set is not None and is_composite_type(named):
            typename = value.get("__typename")
            concrete = self.schema.get_type(typename) if isinstance(typename, str) else None
            t = concrete if concrete is not None and is_composite_type(concrete) else named
            weight += self.selection(t, node.selection_set, value)
        return weight
