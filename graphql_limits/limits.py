"""Operation limits measured in one linear pass over a parsed document.

Shared by the gateway (before validation and planning) and the subgraphs (before
their own validation), so it depends on graphql-core only.

What is measured, per operation definition of the document, with fragment spreads
counted as if inlined (the work the server would do after expanding them) but each
distinct fragment walked once, its figures memoised by name:

- ``depth``: the deepest field nesting (fragments add no level);
- ``height``: the number of field selections once fragments are expanded (Apollo
  Router's "height"): a fragment spread twice counts twice, so ``...A ...A`` nested
  20 times measures 2^20 and is refused, without ever being expanded;
- ``aliases``, ``directives``, ``introspection`` (``__schema`` / ``__type`` selections):
  counted the same way;
- ``root_fields``: fields of the root selection set, through fragments.

Document-wide: ``fragments`` (fragment definitions). Tokens are limited by the parser
(:func:`parse_document`). Counts saturate at :data:`SATURATED` so a deep chain of
doubling fragments stays cheap integer arithmetic.

Every operation of the document is checked, not only the one to execute: validation
walks them all. A fragment spread that closes a cycle or names an unknown fragment
counts nothing here; validation rejects the document afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
)

__all__ = [
    "DEFAULT_LIMITS",
    "LimitExceeded",
    "Measure",
    "OperationLimits",
    "check_document",
    "limit_errors",
    "measure_document",
    "parse_document",
    "parse_limit_code",
]

SATURATED = 1 << 40

MAX_TOKENS_LIMIT = "MAX_TOKENS_LIMIT"
MAX_DEPTH_LIMIT = "MAX_DEPTH_LIMIT"
MAX_HEIGHT_LIMIT = "MAX_HEIGHT_LIMIT"
MAX_ALIASES_LIMIT = "MAX_ALIASES_LIMIT"
MAX_ROOT_FIELDS_LIMIT = "MAX_ROOT_FIELDS_LIMIT"
MAX_DIRECTIVES_LIMIT = "MAX_DIRECTIVES_LIMIT"
MAX_FRAGMENTS_LIMIT = "MAX_FRAGMENTS_LIMIT"
MAX_INTROSPECTION_FIELDS_LIMIT = "MAX_INTROSPECTION_FIELDS_LIMIT"

_INTROSPECTION = frozenset({"__schema", "__type"})


@dataclass(frozen=True, slots=True)
class OperationLimits:
    """Maxima per operation (``None``: no limit). Codes follow Apollo Router's where it has one."""

    max_tokens: int | None = 5_000
    max_depth: int | None = 20
    max_height: int | None = 2_000
    max_aliases: int | None = 100
    max_root_fields: int | None = 50
    max_directives: int | None = 50
    max_fragments: int | None = 100
    max_introspection_fields: int | None = 10


DEFAULT_LIMITS = OperationLimits()
"""Admit every operation of our clients, the benchmarks and the full introspection
query with room to spare; stop alias bombs, deep nesting, fragment fan-out and
repeated introspection (see README, configuration)."""


@dataclass(frozen=True, slots=True)
class Measure:
    """The figures of one selection set (or operation), fragments counted as inlined."""

    depth: int = 0
    height: int = 0
    aliases: int = 0
    directives: int = 0
    introspection: int = 0
    root_fields: int = 0


@dataclass(frozen=True, slots=True)
class LimitExceeded:
    """One limit an operation went over: a stable code and a message naming the limit."""

    code: str
    message: str
    measured: int
    limit: int


_ZERO = Measure()


class _Walker:
    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.memo: dict[str, Measure] = {}
        self.active: set[str] = set()

    def selection_set(self, node: SelectionSetNode) -> Measure:
        depth = height = aliases = directives = introspection = fields = 0
        for sel in node.selections:
            directives += len(sel.directives or ())
            if isinstance(sel, FieldNode):
                sub = self.selection_set(sel.selection_set) if sel.selection_set else _ZERO
                depth = max(depth, sub.depth + 1)
                height += sub.height + 1
                aliases += sub.aliases + (sel.alias is not None)
                directives += sub.directives
                introspection += sub.introspection + (sel.name.value in _INTROSPECTION)
                fields += 1
                continue
            if isinstance(sel, InlineFragmentNode):
                sub = self.selection_set(sel.selection_set)
            elif isinstance(sel, FragmentSpreadNode):
                sub = self.fragment(sel.name.value)
            else:  # pragma: no cover - no other selection kinds exist
                continue
            depth = max(depth, sub.depth)
            height += sub.height
            aliases += sub.aliases
            directives += sub.directives
            introspection += sub.introspection
            fields += sub.root_fields
        return Measure(
            depth=depth,
            height=min(height, SATURATED),
            aliases=min(aliases, SATURATED),
            directives=min(directives, SATURATED),
            introspection=min(introspection, SATURATED),
            root_fields=min(fields, SATURATED),  # the fields this selection set contributes at its own level
        )

    def fragment(self, name: str) -> Measure:
        known = self.memo.get(name)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None or name in self.active:
            return _ZERO  # unknown or cyclic: validation reports it
        self.active.add(name)
        try:
            measure = self.selection_set(definition.selection_set)
        finally:
            self.active.discard(name)
        self.memo[name] = measure
        return measure


def measure_document(document: DocumentNode) -> tuple[int, dict[OperationDefinitionNode, Measure]]:
    """The number of fragment definitions and the measure of each operation (linear time)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    fragment_count = sum(1 for d in document.definitions if isinstance(d, FragmentDefinitionNode))
    walker = _Walker(fragments)
    measures: dict[OperationDefinitionNode, Measure] = {}
    for d in document.definitions:
        if isinstance(d, OperationDefinitionNode):
            m = walker.selection_set(d.selection_set)
            measures[d] = Measure(
                depth=m.depth,
                height=m.height,
                aliases=m.aliases,
                directives=min(m.directives + len(d.directives or ()), SATURATED),
                introspection=m.introspection,
                root_fields=m.root_fields,
            )
    return fragment_count, measures


_CHECKS = (
    ("max_depth", "depth", MAX_DEPTH_LIMIT, "depth"),
    ("max_height", "height", MAX_HEIGHT_LIMIT, "height (field count, fragments expanded)"),
    ("max_aliases", "aliases", MAX_ALIASES_LIMIT, "aliases"),
    ("max_root_fields", "root_fields", MAX_ROOT_FIELDS_LIMIT, "root fields"),
    ("max_directives", "directives", MAX_DIRECTIVES_LIMIT, "directives"),
    ("max_introspection_fields", "introspection", MAX_INTROSPECTION_FIELDS_LIMIT, "__schema / __type selections"),
)


def check_document(document: DocumentNode, limits: OperationLimits) -> list[LimitExceeded]:
    """Every limit the document goes over (one entry per limit, the worst operation's figure).

    Too many fragment definitions refuse the document before anything is walked. A chain
    of fragments deeper than the interpreter's recursion limit is refused as too deep.
    """
    fragment_count = sum(1 for d in document.definitions if isinstance(d, FragmentDefinitionNode))
    if limits.max_fragments is not None and fragment_count > limits.max_fragments:
        return [_exceeded(MAX_FRAGMENTS_LIMIT, "fragments", fragment_count, limits.max_fragments)]
    try:
        _count, measures = measure_document(document)
    except RecursionError:
        return [LimitExceeded(MAX_DEPTH_LIMIT, "Operation is nested too deeply to be measured.", SATURATED, 0)]
    out: list[LimitExceeded] = []
    for attribute, figure, code, what in _CHECKS:
        limit = getattr(limits, attribute)
        if limit is None or not measures:
            continue
        worst = max(getattr(m, figure) for m in measures.values())
        if worst > limit:
            out.append(_exceeded(code, what, worst, limit))
    return out


def _exceeded(code: str, what: str, measured: int, limit: int) -> LimitExceeded:
    shown = f"more than {SATURATED:,}" if measured >= SATURATED else f"{measured:,}"
    return LimitExceeded(code, f"Operation exceeds the maximum {what} ({shown} > {limit:,}).", measured, limit)


def limit_errors(document: DocumentNode, limits: OperationLimits) -> list[GraphQLError]:
    """:func:`check_document` as GraphQL request errors with ``extensions.code``."""
    return [GraphQLError(e.message, extensions={"code": e.code}) for e in check_document(document, limits)]


def parse_document(source: str, limits: OperationLimits) -> DocumentNode:
    """Parse with the token limit.

    A document over it raises a GraphQLError coded MAX_TOKENS_LIMIT; one nested deeper
    than the parser can follow (graphql-core stops at the interpreter's recursion
    limit) one coded MAX_DEPTH_LIMIT. Comments are limited to the same number as
    tokens, so a document of comments cannot get around the limit. Other syntax errors
    propagate unchanged.
    """
    maximum = limits.max_tokens
    try:
        return parse(source, max_lexical_tokens=maximum, max_comments=maximum)
    except GraphQLError as exc:
        code = parse_limit_code(exc)
        if code == MAX_TOKENS_LIMIT:
            raise GraphQLError(
                f"Document exceeds the maximum number of tokens ({maximum:,}); parsing aborted.",
                extensions={"code": code},
            ) from None
        if code == MAX_DEPTH_LIMIT:
            raise GraphQLError("Document is nested too deeply; parsing aborted.", extensions={"code": code}) from None
        raise


def parse_limit_code(error: GraphQLError) -> str | None:
    """The limit code of a graphql-core parse error that is a size limit, else None."""
    message = error.message
    if not message.endswith("Parsing aborted."):
        return None
    if "nested too deeply" in message:
        return MAX_DEPTH_LIMIT
    return MAX_TOKENS_LIMIT if "contains more than" in message else None
