"""The operation-limits stage: between parsing and validation, before anything is planned.

The parser stops at ``max_tokens`` (graphql-core counts while lexing, so a huge document
costs only the tokens read); the parsed document is then measured in one linear pass
(:mod:`graphql_limits`: depth, height, aliases, root fields, directives, fragments,
introspection selections, fragments counted as inlined but walked once) and refused
with one GraphQL request error per limit it goes over, each with a stable
``extensions.code`` (Apollo Router's codes where it has one: ``MAX_DEPTH_LIMIT``,
``MAX_HEIGHT_LIMIT``, ``MAX_ALIASES_LIMIT``, ``MAX_ROOT_FIELDS_LIMIT``; ours otherwise:
``MAX_TOKENS_LIMIT``, ``MAX_DIRECTIVES_LIMIT``, ``MAX_FRAGMENTS_LIMIT``,
``MAX_INTROSPECTION_FIELDS_LIMIT``). Refusals are counted per code.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Protocol

from graphql import DocumentNode, GraphQLError

from graphql_limits import DEFAULT_LIMITS, OperationLimits, check_document, parse_document

__all__ = ["DEFAULT_LIMITS", "LimitsSettings", "OperationLimits", "OperationLimitsStage", "limits_from_settings"]

GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"


class LimitsSettings(Protocol):
    """The settings this stage reads (``gateway.settings.Settings`` has them; 0 turns a limit off)."""

    @property
    def max_tokens(self) -> int: ...
    @property
    def max_depth(self) -> int: ...
    @property
    def max_height(self) -> int: ...
    @property
    def max_aliases(self) -> int: ...
    @property
    def max_root_fields(self) -> int: ...
    @property
    def max_directives(self) -> int: ...
    @property
    def max_fragments(self) -> int: ...
    @property
    def max_introspection_fields(self) -> int: ...


def limits_from_settings(settings: LimitsSettings) -> OperationLimits:
    """The limits a server was configured with (a setting of 0 means no limit)."""

    def value(n: int) -> int | None:
        return n if n > 0 else None

    return OperationLimits(
        max_tokens=value(settings.max_tokens),
        max_depth=value(settings.max_depth),
        max_height=value(settings.max_height),
        max_aliases=value(settings.max_aliases),
        max_root_fields=value(settings.max_root_fields),
        max_directives=value(settings.max_directives),
        max_fragments=value(settings.max_fragments),
        max_introspection_fields=value(settings.max_introspection_fields),
    )


class OperationLimitsStage:
    """Parses under the token limit and measures documents against the other limits."""

    def __init__(self, limits: OperationLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.refusals: Counter[str] = Counter()  # refused documents per error code

    def parse(self, query: str) -> DocumentNode | tuple[dict[str, Any], ...]:
        """The document, or the request errors (token limit or syntax) that stopped the parser."""
        try:
            return parse_document(query, self.limits)
        except GraphQLError as exc:
            code = (exc.extensions or {}).get("code") or GRAPHQL_PARSE_FAILED
            if code != GRAPHQL_PARSE_FAILED:
                self.refusals[code] += 1
            return (_error(exc, code),)

    def check(self, document: DocumentNode) -> tuple[dict[str, Any], ...]:
        """The request errors for every limit ``document`` goes over (empty when within all)."""
        exceeded = check_document(document, self.limits)
        for e in exceeded:
            self.refusals[e.code] += 1
        return tuple({"message": e.message, "extensions": {"code": e.code}} for e in exceeded)


def _error(exc: GraphQLError, code: str) -> dict[str, Any]:
    out: dict[str, Any] = {"message": exc.message}
    if exc.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in exc.locations]
    out["extensions"] = {"code": code}
    return out
