"""Interface rules of the merged supergraph, with Apollo's error codes.

Every implementation has the interface's fields (``INTERFACE_FIELD_NO_IMPLEM``); an interface
with a resolvable ``@key`` is known with all its implementations, each carrying that key
(``INTERFACE_KEY_*``); an ``@interfaceObject`` subgraph defines no implementation
(``INTERFACE_OBJECT_USAGE_ERROR``).
"""

from __future__ import annotations

from .errors import CompositionError
from .fieldset import FieldSetSyntaxError, parse_field_set, print_selection_set
from .subgraph_model import SubgraphSchema
from .supergraph import ComposedSupergraph


def check_interfaces(sg: ComposedSupergraph) -> list[CompositionError]:
    """Every object or interface has the fields of the interfaces it implements."""
    errors: list[CompositionError] = []
    for t in sg.types.values():
        if t.kind not in ("object", "interface"):
            continue
        for iname in t.interfaces:
            iface = sg.types.get(iname)
            if iface is None:
                continue
            for fname, f in iface.fields.items():
                if fname not in t.fields:
                    involved = tuple(dict.fromkeys(sg.field_subgraphs(iface, f) + sg.type_subgraphs(t)))
                    errors.append(
                        CompositionError(
                            "INTERFACE_FIELD_NO_IMPLEM",
                            f'Interface field "{iname}.{fname}" is declared in some subgraphs but type "{t.name}", '
                            f'which implements "{iname}", does not have field "{fname}".',
                            involved,
                            f"{t.name}.{fname}",
                        )
                    )
    return errors


def check_entity_interfaces(subgraphs: list[SubgraphSchema], sg: ComposedSupergraph) -> list[CompositionError]:
    """Rules of interfaces with ``@key`` and of ``@interfaceObject``.

    A subgraph that gives an interface a resolvable key must know every implementation
    (it answers ``__typename`` for them), each with that key; a subgraph that declares
    the interface as an ``@interfaceObject`` must not define implementations at all.
    """
    errors: list[CompositionError] = []
    implementations = {
        t.name: [o.name for o in sg.types.values() if o.kind == "object" and t.name in o.interfaces]
        for t in sg.types.values()
        if t.kind == "interface"
    }
    for s in subgraphs:
        for t in s.types.values():
            impls = implementations.get(t.name, [])
            if t.interface_object:
                for o in impls:
                    if o in s.types:
                        errors.append(
                            CompositionError(
                                "INTERFACE_OBJECT_USAGE_ERROR",
                                f'[{s.name}] Interface type "{t.name}" is defined as an @interfaceObject in subgraph '
                                f'"{s.name}" so that subgraph should not define any of the implementation types of '
                                f'"{t.name}", but it defines type "{o}"',
                                (s.name,),
                                t.name,
                            )
                        )
                continue
            if t.kind != "interface" or not t.keys:
                continue
            local = [o for o in impls if o in s.types and t.name in s.types[o].interfaces]
            for k in t.keys:
                for o in local:
                    if not any(_same_field_set(k.fields, ok.fields) for ok in s.types[o].keys):
                        errors.append(
                            CompositionError(
                                "INTERFACE_KEY_NOT_ON_IMPLEMENTATION",
                                f'[{s.name}] Key @key(fields: "{k.fields}") on interface type "{t.name}" is missing '
                                f'on implementation type "{o}".',
                                (s.name,),
                                o,
                            )
                        )
            if any(k.resolvable for k in t.keys):
                missing = [o for o in impls if o not in local]
                if missing:
                    key = next(k for k in t.keys if k.resolvable)
                    errors.append(
                        CompositionError(
                            "INTERFACE_KEY_MISSING_IMPLEMENTATION_TYPE",
                            f'[{s.name}] Interface type "{t.name}" has a resolvable key (@key(fields: "{key.fields}")) '
                            f'in subgraph "{s.name}" but that subgraph is missing some of the supergraph '
                            f'implementation types of "{t.name}". Subgraph "{s.name}" should define type '
                            f'"{missing[0]}" (and have it implement "{t.name}").',
                            (s.name,),
                            t.name,
                        )
                    )
    return errors


def _same_field_set(a: str, b: str) -> bool:
    try:
        return print_selection_set(parse_field_set(a)) == print_selection_set(parse_field_set(b))
    except FieldSetSyntaxError:
        return a.strip() == b.strip()
