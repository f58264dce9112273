"""Merging input values: argument lists of a field and input fields, and the type of one value.

Arguments and input fields are merged by intersection (an optional one missing somewhere is
dropped with a hint, a required one is an error); their types by :func:`merge_type_refs`, which
also serves output fields; their defaults must agree.
"""

from __future__ import annotations

from .errors import CompositionError, CompositionHint
from .merge_directives import merge_decorations
from .merge_scope import MergeScope, Subtype, fmt_subgraphs
from .subgraph_model import ArgumentDef, SubgraphSchema
from .supergraph import JoinField, SArgument
from .typeref import TypeRef


def merge_type_refs(a: TypeRef, b: TypeRef, output: bool, subtype: Subtype) -> TypeRef | None:
    """The supergraph type of a field typed ``a`` in one subgraph and ``b`` in another.

    Output positions take the most general type (nullable wins, an interface or union
    wins over its implementations); input positions the most restrictive (non-null
    wins). List wrappers must agree. None means incompatible.
    """
    if a == b:
        return a
    if a.kind == "non_null" and b.kind == "non_null":
        inner = merge_type_refs(a.nullable, b.nullable, output, subtype)
        return TypeRef("non_null", of_type=inner) if inner else None
    if a.kind == "non_null" or b.kind == "non_null":
        inner = merge_type_refs(a.nullable, b.nullable, output, subtype)
        if inner is None:
            return None
        return inner if output else TypeRef("non_null", of_type=inner)
    if a.kind == "list" and b.kind == "list":
        assert a.of_type is not None and b.of_type is not None
        inner = merge_type_refs(a.of_type, b.of_type, output, subtype)
        return TypeRef("list", of_type=inner) if inner else None
    if a.kind != b.kind:
        return None
    if output:
        if subtype(str(a.name), str(b.name)):
            return b
        if subtype(str(b.name), str(a.name)):
            return a
    return None


def merge_arguments(
    scope: MergeScope, coord: str, arg_sets: list[tuple[SubgraphSchema, dict[str, ArgumentDef]]]
) -> dict[str, SArgument]:
    """The arguments of the field at ``coord``: those every subgraph defines."""
    names: list[str] = []
    for _, args in arg_sets:
        names.extend(a for a in args if a not in names)
    out: dict[str, SArgument] = {}
    for an in names:
        present = [(s, args[an]) for s, args in arg_sets if an in args]
        missing = [s.name for s, args in arg_sets if an not in args]
        acoord = f"{coord}({an}:)"
        if missing:
            required = [s.name for s, a in present if a.type.is_non_null() and a.default is None]
            if required:
                scope.errors.append(
                    CompositionError(
                        "REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH",
                        f'Argument "{acoord}" is required in some subgraphs but does not appear in all '
                        f"subgraphs: it is required in {fmt_subgraphs(required)} but does not appear in "
                        f"{fmt_subgraphs(missing)}",
                        tuple(required + missing),
                        acoord,
                    )
                )
            else:
                scope.hints.append(
                    CompositionHint(
                        "INCONSISTENT_ARGUMENT_PRESENCE",
                        f'Optional argument "{acoord}" will not be included in the supergraph as it does '
                        f"not appear in all subgraphs.",
                    )
                )
            continue
        merged = merge_input_value(scope, acoord, present, "ARGUMENT")
        if merged is not None:
            out[an] = merged
    return out


def merge_input_value(
    scope: MergeScope, coord: str, present: list[tuple[SubgraphSchema, ArgumentDef]], what: str
) -> SArgument | None:
    """One argument or input field (``what``: ``ARGUMENT`` or ``INPUT_FIELD``) as the subgraphs of ``present``
    define it: the most restrictive type, and a default only when all agree (None after a type mismatch)."""
    t: TypeRef | None = present[0][1].type
    for _, a in present[1:]:
        assert t is not None
        t = merge_type_refs(t, a.type, False, scope.is_subtype)
        if t is None:
            detail = ", ".join(f'type "{a2.type}" in subgraph "{s2.name}"' for s2, a2 in present)
            code = "FIELD_ARGUMENT_TYPE_MISMATCH" if what == "ARGUMENT" else "FIELD_TYPE_MISMATCH"
            scope.errors.append(
                CompositionError(
                    code,
                    f'Type of {"argument" if what == "ARGUMENT" else "field"} "{coord}" is incompatible '
                    f"across subgraphs: it has {detail}.",
                    tuple(s2.name for s2, _ in present),
                    coord,
                )
            )
            return None
    assert t is not None
    defaults = {a.default for _, a in present}
    given = {d for d in defaults if d is not None}
    default = next(iter(given)) if len(given) == 1 and None not in defaults else None
    if len(given) > 1:
        code = "FIELD_ARGUMENT_DEFAULT_MISMATCH" if what == "ARGUMENT" else "INPUT_FIELD_DEFAULT_MISMATCH"
        detail = ", ".join(
            f'default value {a.default if a.default is not None else "none"} in subgraph "{s.name}"' for s, a in present
        )
        scope.errors.append(
            CompositionError(
                code,
                f'{"Argument" if what == "ARGUMENT" else "Input field"} "{coord}" has incompatible '
                f"default values across subgraphs: it has {detail}.",
                tuple(s.name for s, _ in present),
                coord,
            )
        )
    elif given and None in defaults:
        # A default only some subgraphs declare is dropped: clients could not rely on it.
        scope.hints.append(
            CompositionHint(
                "INCONSISTENT_DEFAULT_VALUE_PRESENCE",
                f'"{coord}" has a default value in only some subgraphs: will not use a default in the supergraph.',
            )
        )
    sa = SArgument(present[0][1].name, t, default, merge_decorations([a.deco for _, a in present]))
    if len({str(a.type) for _, a in present}) > 1 and what == "INPUT_FIELD":
        sa.joins = [JoinField(scope.enum_of[s.name], type=str(a.type)) for s, a in present]
    return sa


__all__ = ["merge_arguments", "merge_input_value", "merge_type_refs"]
