"""Subgraph rules the reference composer checks while building a subgraph (Apollo's codes and wording).

Document rules (:func:`check_document`, run on the parsed SDL before it is read):

- ``ROOT_QUERY_USED`` / ``ROOT_MUTATION_USED`` / ``ROOT_SUBSCRIPTION_USED``: a root type with
  another name while a type has the default name;
- ``INVALID_SHAREABLE_USAGE``: ``@shareable`` on an interface field, or twice on one declaration;
- ``DIRECTIVE_DEFINITION_INVALID``: a Federation 2 subgraph redefining a federation directive
  incompatibly (repeatable where it is not, locations outside its own, arguments missing, unknown,
  of another type or with another default).

Model rules (:func:`check_demand_control`, on the read subgraph): ``COST_APPLIED_TO_INTERFACE_FIELD``
and the ``LIST_SIZE_*`` checks of ``@listSize``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from graphql.language import (
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ListTypeNode,
    NonNullTypeNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    TypeDefinitionNode,
    TypeExtensionNode,
    TypeNode,
    print_ast,
)

from .errors import CompositionError
from .subgraph_model import BUILTIN_SCALARS, SubgraphField, SubgraphSchema, SubgraphType

DEFAULT_ROOT_NAMES = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription"}


@dataclass(frozen=True, slots=True)
class DirectiveArg:
    """One argument of a federation directive's definition: its type as printed, its default."""

    name: str
    type: str
    default: str | None = None


@dataclass(frozen=True, slots=True)
class DirectiveShape:
    """What a federation directive's definition must be compatible with (Federation 2.12's)."""

    repeatable: bool
    locations: frozenset[str]
    args: tuple[DirectiveArg, ...] = ()


_FIELDS_USE = frozenset({"FIELD_DEFINITION"})
_AUTH = frozenset({"FIELD_DEFINITION", "OBJECT", "INTERFACE", "SCALAR", "ENUM"})
_EVERYWHERE = frozenset(
    {
        "FIELD_DEFINITION",
        "OBJECT",
        "INTERFACE",
        "UNION",
        "ARGUMENT_DEFINITION",
        "SCALAR",
        "ENUM",
        "ENUM_VALUE",
        "INPUT_OBJECT",
        "INPUT_FIELD_DEFINITION",
    }
)

FEDERATION_DIRECTIVE_SHAPES: dict[str, DirectiveShape] = {
    "key": DirectiveShape(
        True,
        frozenset({"OBJECT", "INTERFACE"}),
        (DirectiveArg("fields", "FieldSet!"), DirectiveArg("resolvable", "Boolean", "true")),
    ),
    "requires": DirectiveShape(False, _FIELDS_USE, (DirectiveArg("fields", "FieldSet!"),)),
    "provides": DirectiveShape(False, _FIELDS_USE, (DirectiveArg("fields", "FieldSet!"),)),
    "external": DirectiveShape(False, frozenset({"OBJECT", "FIELD_DEFINITION"}), (DirectiveArg("reason", "String"),)),
    "tag": DirectiveShape(True, _EVERYWHERE | {"SCHEMA"}, (DirectiveArg("name", "String!"),)),
    "extends": DirectiveShape(False, frozenset({"OBJECT", "INTERFACE"})),
    "shareable": DirectiveShape(True, frozenset({"OBJECT", "FIELD_DEFINITION"})),
    "inaccessible": DirectiveShape(False, _EVERYWHERE),
    "override": DirectiveShape(False, _FIELDS_USE, (DirectiveArg("from", "String!"), DirectiveArg("label", "String"))),
    "composeDirective": DirectiveShape(True, frozenset({"SCHEMA"}), (DirectiveArg("name", "String"),)),
    "interfaceObject": DirectiveShape(False, frozenset({"OBJECT"})),
    "authenticated": DirectiveShape(False, _AUTH),
    "requiresScopes": DirectiveShape(False, _AUTH, (DirectiveArg("scopes", "[[Scope!]!]!"),)),
    "policy": DirectiveShape(False, _AUTH, (DirectiveArg("policies", "[[Policy!]!]!"),)),
    "context": DirectiveShape(True, frozenset({"INTERFACE", "OBJECT", "UNION"}), (DirectiveArg("name", "String!"),)),
    "fromContext": DirectiveShape(
        False, frozenset({"ARGUMENT_DEFINITION"}), (DirectiveArg("field", "ContextFieldValue"),)
    ),
    "cost": DirectiveShape(
        False,
        frozenset({"ARGUMENT_DEFINITION", "ENUM", "FIELD_DEFINITION", "INPUT_FIELD_DEFINITION", "OBJECT", "SCALAR"}),
        (DirectiveArg("weight", "Int!"),),
    ),
    "listSize": DirectiveShape(
        False,
        _FIELDS_USE,
        (
            DirectiveArg("assumedSize", "Int"),
            DirectiveArg("slicingArguments", "[String!]"),
            DirectiveArg("sizedFields", "[String!]"),
            DirectiveArg("requireOneSlicingArgument", "Boolean", "true"),
        ),
    ),
}
"""Federation's directive definitions; a custom scalar is named without its ``federation__`` prefix."""


def check_document(
    sub: str, doc: DocumentNode, canonical: Callable[[str], str | None], fed2: bool, version: tuple[int, int]
) -> list[CompositionError]:
    """The document rules of one subgraph (see the module docstring)."""
    errors = _root_names(sub, doc)
    if fed2:
        errors.extend(_shareable_usage(sub, doc, canonical))
        errors.extend(_directive_definitions(sub, doc, canonical, version))
    return errors


def _root_names(sub: str, doc: DocumentNode) -> list[CompositionError]:
    defined = {d.name.value for d in doc.definitions if isinstance(d, TypeDefinitionNode | TypeExtensionNode)}
    errors: list[CompositionError] = []
    for d in doc.definitions:
        if not isinstance(d, SchemaDefinitionNode | SchemaExtensionNode):
            continue
        for op in d.operation_types or ():
            kind = op.operation.value
            default, actual = DEFAULT_ROOT_NAMES[kind], op.type.name.value
            if actual != default and default in defined:
                errors.append(
                    CompositionError(
                        f"ROOT_{kind.upper()}_USED",
                        f'[{sub}] The schema has a type named "{default}" but it is not set as the {kind} root type '
                        f'("{actual}" is instead): this is not supported by federation. If a root type does not '
                        "use its default name, there should be no other type with that default name.",
                        (sub,),
                        default,
                    )
                )
    return errors


def _count(directives: tuple[DirectiveNode, ...] | None, canonical: Callable[[str], str | None], name: str) -> int:
    return sum(1 for d in directives or () if canonical(d.name.value) == name)


def _shareable_usage(sub: str, doc: DocumentNode, canonical: Callable[[str], str | None]) -> list[CompositionError]:
    errors: list[CompositionError] = []

    def duplicated(what: str, coord: str) -> None:
        errors.append(
            CompositionError(
                "INVALID_SHAREABLE_USAGE",
                f"[{sub}] Invalid duplicate application of @shareable on {what}: @shareable is only repeatable on "
                "types so it can be used simultaneously on a type definition and its extensions, but it should not "
                "be duplicated on the same definition/extension declaration",
                (sub,),
                coord,
            )
        )

    for d in doc.definitions:
        if isinstance(d, ObjectTypeDefinitionNode | ObjectTypeExtensionNode):
            if _count(d.directives, canonical, "shareable") > 1:
                duplicated(f'the same type declaration of "{d.name.value}"', d.name.value)
            for f in d.fields or ():
                if _count(f.directives, canonical, "shareable") > 1:
                    duplicated(f'field "{d.name.value}.{f.name.value}"', f"{d.name.value}.{f.name.value}")
        elif isinstance(d, InterfaceTypeDefinitionNode | InterfaceTypeExtensionNode):
            for f in d.fields or ():
                if _count(f.directives, canonical, "shareable"):
                    coord = f"{d.name.value}.{f.name.value}"
                    errors.append(
                        CompositionError(
                            "INVALID_SHAREABLE_USAGE",
                            f'[{sub}] Invalid use of @shareable on field "{coord}": only object type fields can be '
                            "marked with @shareable",
                            (sub,),
                            coord,
                        )
                    )
    return errors


def _shape(name: str, version: tuple[int, int]) -> DirectiveShape | None:
    shape = FEDERATION_DIRECTIVE_SHAPES.get(name)
    if shape is not None and name == "shareable" and version < (2, 2):
        return DirectiveShape(False, shape.locations)  # repeatable since Federation 2.2
    return shape


def _directive_definitions(
    sub: str, doc: DocumentNode, canonical: Callable[[str], str | None], version: tuple[int, int]
) -> list[CompositionError]:
    errors: list[CompositionError] = []
    for d in doc.definitions:
        if not isinstance(d, DirectiveDefinitionNode):
            continue
        name = canonical(d.name.value)
        shape = _shape(name, version) if name is not None else None
        if shape is None:
            continue
        what = f'directive "@{name}"'
        for problem in _definition_problems(shape, d, name or ""):
            errors.append(
                CompositionError(
                    "DIRECTIVE_DEFINITION_INVALID",
                    f"[{sub}] Invalid definition for {what}: {problem}",
                    (sub,),
                    f"@{name}",
                )
            )
    return errors


def _definition_problems(shape: DirectiveShape, d: DirectiveDefinitionNode, name: str) -> list[str]:
    out: list[str] = []
    actual = {a.name.value: a for a in d.arguments or ()}
    for arg in shape.args:
        got = actual.get(arg.name)
        if got is None:
            if arg.type.endswith("!") and arg.default is None:
                out.append(f'missing required argument "{arg.name}"')
            continue
        if not _compatible(arg.type, got.type):
            out.append(
                f'argument "{arg.name}" should have type "{_expected_type(arg.type)}" but found type '
                f'"{print_ast(got.type)}"'
            )
        elif not isinstance(got.type, NonNullTypeNode):
            default = print_ast(got.default_value) if got.default_value is not None else None
            if default != arg.default:
                out.append(
                    f'argument "{arg.name}" should have default value {arg.default or "undefined"} but '
                    f"found default value {default or 'undefined'}"
                )
    known = {a.name for a in shape.args}
    out.extend(f'unknown/unsupported argument "{n}"' for n in actual if n not in known)
    if not shape.repeatable and d.repeatable:
        out.append(f'"@{name}" should not be repeatable')
    locations = [loc.value for loc in d.locations]
    if not set(locations) <= shape.locations:
        expected = [loc for loc in _LOCATION_ORDER if loc in shape.locations]
        out.append(
            f'"@{name}" should have locations {", ".join(expected)}, but found (non-subset) {", ".join(locations)}'
        )
    return out


_LOCATION_ORDER = (
    "SCHEMA",
    "OBJECT",
    "INTERFACE",
    "UNION",
    "FIELD_DEFINITION",
    "ARGUMENT_DEFINITION",
    "SCALAR",
    "ENUM",
    "ENUM_VALUE",
    "INPUT_OBJECT",
    "INPUT_FIELD_DEFINITION",
)


def _expected_type(spec: str) -> str:
    base = spec.strip("[]!")
    return spec if base in BUILTIN_SCALARS else spec.replace(base, f"federation__{base}")


def _compatible(spec: str, actual: TypeNode) -> bool:
    """Whether an argument of type ``actual`` may stand for one of type ``spec`` (as the reference decides:
    a non-null where a nullable is expected is fine; a custom scalar may be redefined as any built-in one
    and, leniently, under any custom name)."""
    if not spec.endswith("!") and isinstance(actual, NonNullTypeNode):
        actual = actual.type
    return _same_shape(spec, actual)


def _same_shape(spec: str, actual: TypeNode) -> bool:
    if spec.endswith("!"):
        return isinstance(actual, NonNullTypeNode) and _same_shape(spec[:-1], actual.type)
    if isinstance(actual, NonNullTypeNode):
        return False
    if spec.startswith("["):
        return isinstance(actual, ListTypeNode) and _same_shape(spec[1:-1], actual.type)
    if isinstance(actual, ListTypeNode):
        return False
    if spec in BUILTIN_SCALARS:
        return print_ast(actual) == spec
    return True  # a custom scalar of federation's: any named type (see the docstring)


# -- demand control ------------------------------------------------------------------------------------


def check_demand_control(sg: SubgraphSchema) -> list[CompositionError]:
    """``@cost`` on interface fields and the ``@listSize`` checks, as the reference reports them."""
    errors: list[CompositionError] = []
    for t in sg.types.values():
        for f in t.fields.values():
            coord = f"{t.name}.{f.name}"
            if f.deco.cost is not None and t.kind == "interface":
                errors.append(
                    CompositionError(
                        "COST_APPLIED_TO_INTERFACE_FIELD",
                        f'[{sg.name}] @cost cannot be applied to interface "{coord}"',
                        (sg.name,),
                        coord,
                    )
                )
            if f.deco.list_size is not None:
                errors.extend(
                    CompositionError(code, f"[{sg.name}] {message}", (sg.name,), coord)
                    for code, message in _list_size_problems(sg, coord, f)
                )
    return errors


def _list_size_problems(sg: SubgraphSchema, coord: str, f: SubgraphField) -> list[tuple[str, str]]:
    ls = f.deco.list_size
    assert ls is not None
    out: list[tuple[str, str]] = []
    sized = ls.sized_fields or ()
    if not sized and not f.type.is_list():
        out.append(("LIST_SIZE_APPLIED_TO_NON_LIST", f'"{coord}" is not a list'))
    if ls.assumed_size is not None and ls.assumed_size < 0:
        out.append(("LIST_SIZE_INVALID_ASSUMED_SIZE", f'Assumed size of "{coord}" cannot be negative'))
    for name in ls.slicing_arguments or ():
        arg = f.args.get(name)
        if arg is None:
            out.append(
                ("LIST_SIZE_INVALID_SLICING_ARGUMENT", f'Slicing argument "{name}" is not an argument of "{coord}"')
            )
        elif arg.type.is_list() or arg.type.named != "Int":
            out.append(
                ("LIST_SIZE_INVALID_SLICING_ARGUMENT", f'Slicing argument "{coord}({name}:)" must be Int or Int!')
            )
    if sized:
        target: SubgraphType | None = sg.types.get(f.type.named)
        if target is None or target.kind not in ("object", "interface", "union"):
            out.append(
                (
                    "LIST_SIZE_INVALID_SIZED_FIELD",
                    f'Sized fields cannot be used because "{f.type}" is not a composite type',
                )
            )
            return out
        for name in sized:
            sf = target.fields.get(name)
            if sf is None:
                out.append(
                    ("LIST_SIZE_INVALID_SIZED_FIELD", f'Sized field "{name}" is not a field on type "{target.name}"')
                )
            elif not sf.type.is_list():
                out.append(("LIST_SIZE_APPLIED_TO_NON_LIST", f'Sized field "{target.name}.{name}" is not a list'))
    return out
