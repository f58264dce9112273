"""Operation limits of every subgraph, and the cache of prepared documents that applies them once.

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

Parsing and validating a document cost a subgraph most of the time of a small request
(about 0.7 ms of 1 ms for ``{ __typename }``), and the gateway sends the same few
documents again and again. A :class:`DocumentCache` on the schema keeps, per document
text, the parsed document once it passed the limits and validation: a document seen
before is neither parsed, measured nor validated again. Refused documents are not kept
(an attack's large documents would hold their syntax trees; they are refused again at the
cost of the linear limit pass, as before); the cache is bounded by entries and by
estimated bytes (:class:`gateway.plan_cache.PlanCache`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, cast

from graphql import DocumentNode
from strawberry.extensions import SchemaExtension

from gateway.plan_cache import PlanCache, estimate_prepared_bytes
from graphql_limits import DEFAULT_LIMITS, OperationLimits, limit_errors, parse_limit_code

__all__ = ["SUBGRAPH_LIMITS", "DocumentCache", "OperationLimitsExtension", "PreparedDocument"]

# What a subgraph keeps of prepared documents at most, besides the entry count of the setting.
DOCUMENT_CACHE_BYTES = 32 * 1024 * 1024


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


@dataclasses.dataclass(frozen=True, slots=True)
class PreparedDocument:
    """A parsed document that passed the limits and validation.

    Shared by every request that sends the same text: nothing may change it (graphql-core's
    execution only reads the document).
    """

    document: DocumentNode


class DocumentCache:
    """Prepared documents by text, least recently used first out (one per schema)."""

    def __init__(self, max_entries: int, max_bytes: int = DOCUMENT_CACHE_BYTES) -> None:
        self._entries: PlanCache[PreparedDocument] = PlanCache(max_entries, max_bytes)

    def get(self, text: str) -> PreparedDocument | None:
        """The prepared document for ``text``, or None when not kept."""
        return self._entries.get(text)

    def put(self, text: str, prepared: PreparedDocument) -> None:
        """Keep ``prepared`` for ``text`` (not at all when larger than the whole budget)."""
        size = estimate_prepared_bytes(len(text), document_chars=len(text))
        self._entries.put(text, prepared, size)

    def __len__(self) -> int:
        return len(self._entries)


# Where the schema carries its cache (set by the HTTP view from the settings; absent: no cache).
DOCUMENTS_ATTRIBUTE = "dpp_documents"


def documents_of(schema: object) -> DocumentCache | None:
    """The document cache of a Strawberry schema, if it has one."""
    return cast(DocumentCache | None, getattr(schema, DOCUMENTS_ATTRIBUTE, None))


class OperationLimitsExtension(SchemaExtension):
    """Refuses documents over ``limits`` before validation, once per distinct document (one instance per request)."""

    def __init__(self, limits: OperationLimits = SUBGRAPH_LIMITS) -> None:
        self.limits = limits
        self._prepared: PreparedDocument | None = None

    def on_operation(self) -> Iterator[None]:
        if self.limits.max_tokens is not None:
            # graphql-core 3.3's newer parse options; Strawberry's ParseOptions type predates them
            options = cast(dict[str, Any], self.execution_context.parse_options)
            options["max_lexical_tokens"] = self.limits.max_tokens
            options["max_comments"] = self.limits.max_tokens
        yield

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        documents = documents_of(context.schema)
        if documents is not None and context.query and context.graphql_document is None:
            self._prepared = documents.get(context.query)
            if self._prepared is not None:
                context.graphql_document = self._prepared.document  # Strawberry then skips parsing
        yield
        # graphql-core's size-limit errors are syntax errors; give them the limit's code
        for error in context.pre_execution_errors or ():
            code = parse_limit_code(error)
            if code is not None:
                error.extensions = {**(error.extensions or {}), "code": code}

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if self._prepared is not None:
            # Known valid: an empty list makes Strawberry skip validation and execute.
            context.pre_execution_errors = []
            yield
            return
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            errors = limit_errors(document, self.limits)
            if errors:
                # Strawberry skips its validation when an extension already set errors
                context.pre_execution_errors = errors
        yield
        documents = documents_of(context.schema)
        if documents is not None and context.query and document is not None and not context.pre_execution_errors:
            documents.put(context.query, PreparedDocument(document))
