"""Preparing an operation: parse under the limits, validate, normalise and plan, once per text.

:class:`OperationPreparer` does the work a request pays only on a plan cache miss: the
parser stops at the token limit, the operation limits refuse a document before validation,
the same operation written differently (spacing, commas, comments) shares one plan through
its printed form, and the result (or the request errors that stopped it) is a
:class:`PreparedOperation` kept in a :class:`gateway.plan_cache.PlanCache` bounded by entries
and estimated bytes. :class:`gateway.runtime.Gateway` executes what this prepares.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, OperationDefinitionNode, execute, print_ast, validate

from gateway.authorization import AuthorizationStage, OperationChecks
from gateway.cost import DemandControl, PreparedCost
from gateway.executor.response import ShapeCache
from gateway.executor.shaping import CompiledShapes
from gateway.incremental import with_defer
from gateway.introspection import INTROSPECTION_MIDDLEWARE, introspection_document
from gateway.limits import OperationLimitsStage
from gateway.plan_cache import PlanCache, estimate_prepared_bytes
from gateway.planner import Plan, PlanningError, QueryPlanner, normalize_operation, print_plan
from gateway.planner.defer import DeferPlan, has_defer
from gateway.planner.operation import NormalizedOperation, nullable_condition_variables
from gateway.supergraph import Supergraph
from gateway.telemetry.tracing import stage_span
from gateway.variables_key import variables_key

__all__ = [
    "BAD_USER_INPUT",
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "OPERATION_NOT_ALLOWED",
    "QUERY_PLANNING_FAILED",
    "OperationPreparer",
    "PrepareStats",
    "PreparedOperation",
    "introspect",
    "null_conditions",
    "request_error",
]

GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"
OPERATION_NOT_ALLOWED = "OPERATION_NOT_ALLOWED"
QUERY_PLANNING_FAILED = "QUERY_PLANNING_FAILED"

_TEXT_KEY_CHARS = 4096


@dataclass(frozen=True, slots=True)
class PreparedOperation:
    """A parsed, validated and planned operation (or the request errors that stopped it)."""

    errors: tuple[dict[str, Any], ...] = ()
    document: DocumentNode | None = None
    definition: OperationDefinitionNode | None = None
    operation: NormalizedOperation | None = None
    plan: Plan | None = None
    introspection: DocumentNode | None = None
    plan_text: str = ""
    # valid operation the supergraph cannot serve: answered with data null, not as a request error
    planning_failed: bool = False
    # response-shaping work shared by all executions of this operation: the compiled
    # instructions of the fast path, and the reference formatter's (it takes over for
    # responses that need error paths)
    compiled: CompiledShapes = field(default_factory=CompiledShapes)
    shapes: ShapeCache = field(default_factory=ShapeCache)
    # introspection answers depend only on the API schema and the variables, and partners
    # send the same large introspection query again and again: keep a few per operation
    introspection_results: dict[bytes, tuple[dict[str, Any], tuple[dict[str, Any], ...]]] = field(
        default_factory=dict
    )
    # the @authenticated / @requiresScopes / @policy checks of the operation (None: it asks for none)
    access: OperationChecks | None = None
    # nullable variables (with a default) that an @skip/@include `if` reads: an explicit null
    # for one of them is a request error
    nullable_conditions: tuple[str, ...] = ()
    # demand control: the operation's static cost estimate (None: demand control off)
    cost: PreparedCost | None = None
    # @defer: whether any fragment says it, and the deferred plan per @defer(if:) variable values
    # (None: nothing is deferred)
    has_defer: bool = False
    deferred: dict[tuple[tuple[str, bool], ...], DeferPlan | None] = field(default_factory=dict)


@dataclass(slots=True)
class PrepareStats:
    """Plan cache hits and misses, and the seconds spent preparing the misses (read by /metrics)."""

    hits: int = 0
    misses: int = 0
    seconds: float = 0.0


def request_error(exc: GraphQLError, code: str) -> dict[str, Any]:
    """A graphql-core error as a response error with ``extensions.code``."""
    out: dict[str, Any] = {"message": exc.message}
    if exc.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in exc.locations]
    out["extensions"] = {"code": code}
    return out


def _locations(ops: list[OperationDefinitionNode]) -> dict[str, Any]:
    """``{"locations": [...]}`` of the operations a client could have meant (where each starts)."""
    found = [node.loc.source.get_location(node.loc.start) for node in ops if node.loc is not None]
    return {"locations": [{"line": loc.line, "column": loc.column} for loc in found]} if found else {}


def _cached_bytes(key_chars: int, prepared: PreparedOperation) -> int:
    """The estimated bytes a cache entry holds (the model is in :mod:`gateway.plan_cache`)."""
    if prepared.operation is None:
        return estimate_prepared_bytes(key_chars, errors=len(prepared.errors))
    document = prepared.document
    source = document.loc.source.body if document is not None and document.loc is not None else ""
    introspection = prepared.introspection
    return estimate_prepared_bytes(
        key_chars,
        document_chars=max(len(source), key_chars),
        plan_chars=len(prepared.plan_text),
        introspection_fields=len(introspection.definitions[0].selection_set.selections)  # type: ignore[attr-defined]
        if introspection is not None else 0,
    )


class OperationPreparer:
    """Parses, checks, validates and plans the operations of one supergraph, with a plan cache."""

    def __init__(self, supergraph: Supergraph, planner: QueryPlanner, *, authorization: AuthorizationStage,
                 demand: DemandControl, limits: OperationLimitsStage, cache_size: int, cache_bytes: int) -> None:
        self._request_schema = with_defer(supergraph.api_schema)  # requests may say @defer
        self._planner = planner
        self._authorization = authorization
        self.demand = demand
        self.limits = limits
        # Prepared operations by operation text and by printed document, one budget for both
        # (entries and estimated bytes, see gateway.plan_cache).
        self.cache: PlanCache[PreparedOperation] = PlanCache(2 * cache_size, cache_bytes)
        self.stats = PrepareStats()

    def prepare(self, query: str, operation_name: str | None) -> PreparedOperation:
        """Parse, check the operation limits, validate and plan (cached by operation text and name)."""
        # A long text is keyed by its SHA-256 digest: a refused 900 KB document then costs the
        # cache a kilobyte, not its text (a prepared one keeps its text in its document anyway).
        text: str | bytes = query
        if len(query) > _TEXT_KEY_CHARS:
            text = hashlib.sha256(query.encode("utf-8", "surrogatepass")).digest()
        key = ("text", text, operation_name)
        hit = self.cache.get(key)
        stats = self.stats
        if hit is not None:
            stats.hits += 1
            return hit
        started = time.perf_counter()
        prepared = self._prepare(query, operation_name)
        self.cache.put(key, prepared, _cached_bytes(len(text), prepared))
        stats.misses += 1
        stats.seconds += time.perf_counter() - started
        return prepared

    def _prepare(self, query: str, operation_name: str | None) -> PreparedOperation:
        # limits before anything costly: the parser stops at the token limit, and the
        # linear measure refuses a document before validation, normalisation and planning
        with stage_span("graphql.parse"):
            document = self.limits.parse(query)
            if isinstance(document, tuple):
                return PreparedOperation(errors=document)
            refused = self.limits.check(document)
        if refused:
            return PreparedOperation(errors=refused)
        # The same operation written differently (spacing, commas, comments) shares one plan:
        # only the parse is paid again.
        printed = print_ast(document)
        normal = ("document", printed, operation_name)
        same = self.cache.get(normal)
        if same is not None:
            return same
        prepared = self._validate_and_plan(document, operation_name)
        if not prepared.errors or prepared.planning_failed:
            self.cache.put(normal, prepared, _cached_bytes(len(printed), prepared))
        return prepared

    def _validate_and_plan(self, document: DocumentNode, operation_name: str | None) -> PreparedOperation:
        with stage_span("graphql.validate"):
            errors = validate(self._request_schema, document)
        if errors:
            return PreparedOperation(errors=tuple(request_error(e, GRAPHQL_VALIDATION_FAILED) for e in errors))
        ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if operation_name is None:
            if len(ops) != 1:
                return PreparedOperation(errors=({
                    "message": "Must provide operation name if query contains multiple operations.",
                    **_locations(ops),
                    "extensions": {"code": GRAPHQL_VALIDATION_FAILED},
                },))
            definition = ops[0]
        else:
            found = [o for o in ops if o.name is not None and o.name.value == operation_name]
            if not found:
                return PreparedOperation(errors=({
                    "message": f"Unknown operation named '{operation_name}'.",
                    **_locations(ops),
                    "extensions": {"code": GRAPHQL_VALIDATION_FAILED},
                },))
            definition = found[0]
        operation = normalize_operation(document, definition)
        try:
            with stage_span("graphql.plan"):
                plan = self._planner.plan(operation)
        except PlanningError as exc:
            return PreparedOperation(
                errors=({"message": str(exc), "extensions": {"code": QUERY_PLANNING_FAILED}},),
                planning_failed=True,
                operation=operation,
            )
        return PreparedOperation(
            document=document,
            definition=definition,
            operation=operation,
            plan=plan,
            introspection=introspection_document(document, definition),
            nullable_conditions=nullable_condition_variables(operation),
            plan_text=print_plan(plan),
            access=self._authorization.analyze(operation),
            cost=self.demand.prepare(document, definition),
            has_defer=has_defer(operation),
        )


def null_conditions(prepared: PreparedOperation, coerced: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A request error for each condition variable given an explicit null (its default does not apply)."""
    errors: list[dict[str, Any]] = []
    for name in prepared.nullable_conditions:
        if name not in coerced or coerced[name] is not None:
            continue
        error: dict[str, Any] = {
            "message": f"Variable '${name}' is null, but it is the condition of an @skip or @include, "
                       "whose 'if' argument must not be null (a default applies only to a variable left out).",
        }
        definition = prepared.definition
        for vd in (definition.variable_definitions or ()) if definition is not None else ():
            if vd.variable.name.value == name and vd.loc is not None:
                loc = vd.loc.source.get_location(vd.loc.start)
                error["locations"] = [{"line": loc.line, "column": loc.column}]
        error["extensions"] = {"code": BAD_USER_INPUT}
        errors.append(error)
    return errors


_INTROSPECTION_CACHE_PER_OPERATION = 16
IntrospectionAnswer = tuple[dict[str, Any], tuple[dict[str, Any], ...]]


def introspect(schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any],
               cache: dict[bytes, IntrospectionAnswer]) -> IntrospectionAnswer:
    """The introspection part of an operation (``document``: its introspection document) and its
    errors, from ``cache`` (the prepared operation's, by variable values) when possible."""
    key = variables_key(variables)  # None: values orjson cannot encode, answered without caching
    cached = cache.get(key) if key is not None else None
    if cached is not None:
        return cached
    result = execute(schema, document, variable_values=dict(variables), middleware=list(INTROSPECTION_MIDDLEWARE))
    # graphql-core's refusals here are about the request's values (a null @skip condition): BAD_USER_INPUT.
    errors = tuple(
        {**e.formatted, "extensions": {"code": BAD_USER_INPUT, **(e.extensions or {})}}
        for e in result.errors or ()  # type: ignore[union-attr]
    )
    answer = (result.data or {}, errors)  # type: ignore[union-attr]
    if key is not None and len(cache) < _INTROSPECTION_CACHE_PER_OPERATION:
        cache[key] = answer
    return answer
