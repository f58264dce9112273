"""How decorations combine: ``@requiresScopes`` / ``@policy`` requirements, ``@cost`` / ``@listSize``.

One rule set serves both places decorations meet: a type's definition and extensions within one
subgraph (:func:`merge_decorations`, used by :mod:`.subgraph_reader`) and the same element across
subgraphs (:mod:`.merge`).
"""

from __future__ import annotations

from .subgraph_model import Decorations, ListSize


def merge_decorations(into: Decorations, other: Decorations) -> None:
    """Fold ``other`` (an extension's decorations) into ``into`` (the type's so far)."""
    into.description = into.description or other.description
    into.deprecated = into.deprecated or other.deprecated
    into.inaccessible = into.inaccessible or other.inaccessible
    into.tags.extend(t for t in other.tags if t not in into.tags)
    into.authenticated = into.authenticated or other.authenticated
    if other.scopes is not None:
        into.scopes = and_requirements(into.scopes, other.scopes)
    if other.policies is not None:
        into.policies = and_requirements(into.policies, other.policies)
    into.composed.extend(c for c in other.composed if c not in into.composed)
    into.specified_by = into.specified_by or other.specified_by
    into.join_directives.extend(other.join_directives)
    into.cost, into.list_size = merge_cost([into.cost, other.cost]), merge_list_size([into.list_size, other.list_size])


def read_list_size(args: dict[str, object]) -> ListSize:
    """A ``@listSize`` application's arguments (``requireOneSlicingArgument`` defaults to true)."""

    def names(value: object) -> tuple[str, ...] | None:
        return tuple(str(v) for v in value) if isinstance(value, list) else None

    size = args.get("assumedSize")
    require = args.get("requireOneSlicingArgument", True)
    return ListSize(
        assumed_size=int(size) if isinstance(size, int | str) else None,
        slicing_arguments=names(args.get("slicingArguments")),
        sized_fields=names(args.get("sizedFields")),
        require_one_slicing_argument=bool(require) if require is not None else None,
    )


def merge_cost(weights: list[int | None]) -> int | None:
    """``@cost(weight:)`` composes by MAX (the cost spec's composition strategy)."""
    present = [w for w in weights if w is not None]
    return max(present) if present else None


def merge_list_size(sizes: list[ListSize | None]) -> ListSize | None:
    """``@listSize`` composes argument by argument: NULLABLE_MAX, NULLABLE_UNION twice, NULLABLE_AND."""
    present = [s for s in sizes if s is not None]
    if len(present) <= 1:
        return present[0] if present else None

    def union(values: list[tuple[str, ...] | None]) -> tuple[str, ...] | None:
        if all(v is None for v in values):
            return None
        out: list[str] = []
        for v in values:
            out.extend(x for x in v or () if x not in out)
        return tuple(out)

    requires = [s.require_one_slicing_argument for s in present if s.require_one_slicing_argument is not None]
    return ListSize(
        assumed_size=merge_cost([s.assumed_size for s in present]),
        slicing_arguments=union([s.slicing_arguments for s in present]),
        sized_fields=union([s.sized_fields for s in present]),
        require_one_slicing_argument=all(requires) if requires else None,
    )


def and_requirements(a: object, b: object) -> list[list[str]] | None:
    """AND two ``[[...]]`` requirements (an OR of ANDs): every pair of alternatives, joined.

    This is how ``@requiresScopes`` / ``@policy`` from several subgraphs combine: a
    client must satisfy what each subgraph asks for.
    """
    if not isinstance(b, list):
        return a if isinstance(a, list) else None  # type: ignore[return-value]
    bb = [[str(x) for x in alt] for alt in b if isinstance(alt, list)]
    if not isinstance(a, list):
        return _dedupe(bb)
    out: list[list[str]] = []
    for x in a:
        for y in bb:
            joined = list(x)
            joined.extend(s for s in y if s not in joined)
            out.append(joined)
    return _dedupe(out)


def _dedupe(alts: list[list[str]]) -> list[list[str]]:
    seen: list[frozenset[str]] = []
    out: list[list[str]] = []
    for alt in alts:
        key = frozenset(alt)
        if key not in seen:
            seen.append(key)
            out.append(alt)
    return out
