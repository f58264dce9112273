"""Operation limits of every subgraph: the gateway's linear limit pass, as a Strawberry extension.

Strawberry's ``QueryDepthLimiter`` and ``MaxAliasesLimiter`` walk a fragment again at
every spread, so twenty nested fragments each spreading the next twice kept a subgraph
busy for minutes. This extension measures the parsed document once, each fragment
walked once (:mod:`graphql_limits`), and refuses it before validation with
one error per limit, each with a stable ``extensions.code`` (``MAX_DEPTH_LIMIT``,
``MAX_HEIGHT_LIMIT``, ``MAX_ALIASES_LIMIT``, ...). The parser stops at the token
limit (``MAX_TOKENS_LIMIT``).

Subgraphs get the gateway's default limits with room for what the planner adds to a
client operation: an ``_entities`` level, key fields, ``__typename`` selections and aliases
for fields whose names collide.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, cast

from strawberry.extensions import SchemaExtension

from graphql_limits import DEFAULT_LIMITS, OperationLimits, limit_errors, parse_limit_code

__all__ = ["SUBGRAPH_LIMITS", "OperationLimitsExtension"]


def _with_margin(value: int | None, factor: int, extra: int = 0) -> int | None:
    return None if value is None else value * factor + extra


SUBGRAPH_LIMITS = dataclasses.replace(
    DEFAULT_LIMITS,
    max_tokens=_with_margin(DEFAULT_LIMITS.max_tokens, 2),
    max_depth=_with_margin(DEFAULT_LIMITS.max_depth, 1, 5),
    max_height=_with_margin(DEFAULT_LIMITS.max_height, 2),
    max_aliases=_with_margin(DEFAULT_LIMITS.max_aliases, 2),  # the planner aliases colliding fields
    max_directives=_with_margin(DEFAULT_LIMITS.max_directives, 2),
)


class OperationLimitsExtension(SchemaExtension):
    """Refuses documents over ``limits`` before validation (one instance per request)."""

    def __init__(self, limits: OperationLimits = SUBGRAPH_LIMITS) -> None:
        self.limits = limits

    def on_operation(self) -> Iterator[None]:
        if self.limits.max_tokens is not None:
            # graphql-core 3.3's newer parse options; Strawberry's ParseOptions type predates them
            options = cast(dict[str, Any], self.execution_context.parse_options)
            options["max_lexical_tokens"] = self.limits.max_tokens
            options["max_comments"] = self.limits.max_tokens
        yield

    def on_parse(self) -> Iterator[None]:
        yield
        # graphql-core's size-limit errors are syntax errors; give them the limit's code
        for error in self.execution_context.pre_execution_errors or ():
            code = parse_limit_code(error)
            if code is not None:
                error.extensions = {**(error.extensions or {}), "code": code}

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            errors = limit_errors(document, self.limits)
            if errors:
                # Strawberry skips its validation when an extension already set errors
                context.pre_execution_errors = errors
        yield
