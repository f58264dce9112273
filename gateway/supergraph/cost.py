"""The demand-control annotations of a supergraph: ``@cost`` and ``@listSize``.

Composed supergraphs link ``https://specs.apollo.dev/cost/v0.1`` (``@cost`` by the spec's
name, ``@listSize`` imported or as ``@cost__listSize``). Apollo Router also reads the
two directives when a supergraph carries them without that link (as ``@composeDirective``
output), so the names ``cost`` and ``listSize`` are the fallback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import (
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    InputObjectTypeDefinitionNode,
    InterfaceTypeDefinitionNode,
    ObjectTypeDefinitionNode,
    ScalarTypeDefinitionNode,
)

from gateway.sdl_values import directive_arguments
from gateway.supergraph.links import read_links

COST_SPEC = "https://specs.apollo.dev/cost/"


@dataclass(frozen=True, slots=True)
class ListSizeSpec:
    """``@listSize`` on one field."""

    assumed_size: int | None = None
    slicing_arguments: tuple[str, ...] = ()
    sized_fields: tuple[str, ...] = ()
    require_one_slicing_argument: bool = True


@dataclass(frozen=True, slots=True)
class CostAnnotations:
    """Weights of types (``Type``), fields (``Type.field``) and arguments (``Type.field(arg:)``)."""

    type_weights: dict[str, int] = field(default_factory=dict)
    field_weights: dict[str, int] = field(default_factory=dict)
    argument_weights: dict[str, int] = field(default_factory=dict)
    list_sizes: dict[str, ListSizeSpec] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.type_weights or self.field_weights or self.argument_weights or self.list_sizes)


def _names(doc: DocumentNode) -> tuple[str, str]:
    for link in read_links(doc):
        if link.url.startswith(COST_SPEC):
            prefix = link.prefix or "cost"
            list_size = next((i.local_name for i in link.imports if i.name == "@listSize"), f"{prefix}__listSize")
            return prefix, list_size
    return "cost", "listSize"


def _weight(directives: tuple[DirectiveNode, ...] | None, name: str) -> int | None:
    for d in directives or ():
        if d.name.value == name:
            value = directive_arguments(d).get("weight")
            if value is not None:
                return int(str(value))
    return None


def _list_size(directives: tuple[DirectiveNode, ...] | None, name: str) -> ListSizeSpec | None:
    for d in directives or ():
        if d.name.value != name:
            continue
        args = directive_arguments(d)
        size = args.get("assumedSize")
        slicing = args.get("slicingArguments")
        sized = args.get("sizedFields")
        require = args.get("requireOneSlicingArgument", True)
        return ListSizeSpec(
            assumed_size=int(str(size)) if size is not None else None,
            slicing_arguments=tuple(str(s) for s in slicing) if isinstance(slicing, list) else (),
            sized_fields=tuple(str(s) for s in sized) if isinstance(sized, list) else (),
            require_one_slicing_argument=require is not False,
        )
    return None


def read_cost_annotations(doc: DocumentNode) -> CostAnnotations:
    """Every ``@cost`` / ``@listSize`` of the supergraph document."""
    cost, list_size = _names(doc)
    out = CostAnnotations()
    for node in doc.definitions:
        if not isinstance(
            node,
            ObjectTypeDefinitionNode
            | InterfaceTypeDefinitionNode
            | ScalarTypeDefinitionNode
            | EnumTypeDefinitionNode
            | InputObjectTypeDefinitionNode,
        ):
            continue
        tname = node.name.value
        w = _weight(node.directives, cost)
        if w is not None:
            out.type_weights[tname] = w
        fields = node.fields if not isinstance(node, ScalarTypeDefinitionNode | EnumTypeDefinitionNode) else ()
        for f in fields or ():
            coord = f"{tname}.{f.name.value}"
            w = _weight(f.directives, cost)
            if w is not None:
                out.field_weights[coord] = w
            ls = _list_size(f.directives, list_size)
            if ls is not None:
                out.list_sizes[coord] = ls
            for a in getattr(f, "arguments", None) or ():
                w = _weight(a.directives, cost)
                if w is not None:
                    out.argument_weights[f"{coord}({a.name.value}:)"] = w
    return out
