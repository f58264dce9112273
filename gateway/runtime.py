"""The gateway runtime: a loaded supergraph that validates, plans and executes operations.

``Gateway`` implements :class:`gateway.contracts.Runtime`. Per distinct operation
text (and operation name) it parses, validates, normalises and plans once; the
prepared result is cached, so a cache hit goes straight to execution.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    execute,
    print_ast,
    validate,
)
from graphql.execution.values import get_variable_values
from graphql.type import is_abstract_type

from gateway.authorization import AuthorizationConfig, AuthorizationStage, OperationChecks
from gateway.contracts import ANONYMOUS, ExecutionOutcome, GraphQLRequest, Principal, SubgraphTransport
from gateway.cost import DemandControl, DemandControlConfig, PreparedCost
from gateway.executor import FetchContext, merge, run_plan
from gateway.executor.response import ShapeCache
from gateway.executor.shaping import CompiledShapes, format_data
from gateway.incremental import incremental_outcome, with_defer
from gateway.introspection import INTROSPECTION_MIDDLEWARE, introspection_document
from gateway.limits import DEFAULT_LIMITS, OperationLimits, OperationLimitsStage
from gateway.plan_cache import DEFAULT_MAX_BYTES, PlanCache, estimate_prepared_bytes
from gateway.planner import (
    Plan,
    PlanningError,
    QueryPlanner,
    SubscriptionNode,
    normalize_operation,
    print_plan,
)
from gateway.planner.defer import DeferPlan, defer_key, has_defer, plan_deferred
from gateway.planner.operation import NormalizedOperation, nullable_condition_variables
from gateway.supergraph import Supergraph, SupergraphError, parse_supergraph
from gateway.telemetry.tracing import stage_span

__all__ = ["AuthorizedPlan", "Gateway", "PreparedOperation", "SupergraphError"]

GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"
OPERATION_NOT_ALLOWED = "OPERATION_NOT_ALLOWED"
QUERY_PLANNING_FAILED = "QUERY_PLANNING_FAILED"

_INTROSPECTION_CACHE_PER_OPERATION = 16
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


@dataclass(frozen=True, slots=True)
class AuthorizedPlan:
    """The plan one principal may run (the prepared one, or its variant without denied
    selections) and the errors the denied ones answer with."""

    plan: Plan | None
    plan_text: str
    errors: tuple[dict[str, Any], ...] = ()


@dataclass(slots=True)
class PrepareStats:
    """Plan cache hits and misses, and the seconds spent preparing the misses (read by /metrics)."""

    hits: int = 0
    misses: int = 0
    seconds: float = 0.0


def _error(exc: GraphQLError, code: str) -> dict[str, Any]:
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


class Gateway:
    """A supergraph ready to answer operations (see :class:`gateway.contracts.Runtime`)."""

    def __init__(self, supergraph: Supergraph, subgraph_urls: Mapping[str, str], *, cache_size: int = 1024,
                 authorization: AuthorizationConfig | None = None,
                 limits: OperationLimits = DEFAULT_LIMITS, cache_bytes: int = DEFAULT_MAX_BYTES,
                 cost: DemandControlConfig | None = None) -> None:
        self.supergraph = supergraph
        self.demand = DemandControl(supergraph.api_schema, supergraph.cost, cost or DemandControlConfig())
        self._authorization = AuthorizationStage(supergraph, authorization)
        self._urls = dict(subgraph_urls)
        self._planner = QueryPlanner(supergraph)
        self._request_schema = with_defer(supergraph.api_schema)  # requests may say @defer
        self.limits = OperationLimitsStage(limits)
        # Prepared operations by operation text and by printed document, one budget for both
        # (entries and estimated bytes, see gateway.plan_cache).
        self._cache: PlanCache[PreparedOperation] = PlanCache(2 * cache_size, cache_bytes)
        self.prepare_stats = PrepareStats()
        schema = supergraph.api_schema
        self._object_types = frozenset(
            name for name, t in schema.type_map.items()
            if isinstance(t, GraphQLObjectType) and not name.startswith("__")
        )
        self._possible = {
            name: frozenset(o.name for o in schema.get_possible_types(t))  # type: ignore[arg-type]
            for name, t in schema.type_map.items()
            if is_abstract_type(t)
        }

    @classmethod
    def from_supergraph_sdl(cls, sdl: str, subgraph_url_overrides: dict[str, str] | None = None, *,
                            authorization: AuthorizationConfig | None = None,
                            limits: OperationLimits = DEFAULT_LIMITS, cache_bytes: int = DEFAULT_MAX_BYTES,
                            cost: DemandControlConfig | None = None) -> Gateway:
        """Load a supergraph; raises :class:`SupergraphError` when ``sdl`` is not a valid one."""
        sg = parse_supergraph(sdl)
        urls = {name: s.url for name, s in sg.subgraphs.items()}
        for name, url in (subgraph_url_overrides or {}).items():
            if name not in urls:
                raise SupergraphError(f"URL override for unknown subgraph {name!r}")
            urls[name] = url
        return cls(sg, urls, authorization=authorization, limits=limits, cache_bytes=cache_bytes, cost=cost)

    @property
    def api_schema(self) -> GraphQLSchema:
        """The schema clients see (no federation machinery, nothing @inaccessible)."""
        return self.supergraph.api_schema

    @property
    def policy_names(self) -> frozenset[str]:
        """Every policy an ``@policy`` of the supergraph names (the edge asks identity for these)."""
        return self.supergraph.policy_names

    @property
    def subgraph_urls(self) -> dict[str, str]:
        """Subgraph name -> URL (overrides applied)."""
        return dict(self._urls)

    # -- preparation -------------------------------------------------------------------------

    def prepare(self, query: str, operation_name: str | None) -> PreparedOperation:
        """Parse, check the operation limits, validate and plan (cached by operation text and name)."""
        # A long text is keyed by its SHA-256 digest: a refused 900 KB document then costs the
        # cache a kilobyte, not its text (a prepared one keeps its text in its document anyway).
        text: str | bytes = query
        if len(query) > _TEXT_KEY_CHARS:
            text = hashlib.sha256(query.encode("utf-8", "surrogatepass")).digest()
        key = ("text", text, operation_name)
        hit = self._cache.get(key)
        stats = self.prepare_stats
        if hit is not None:
            stats.hits += 1
            return hit
        started = time.perf_counter()
        prepared = self._prepare(query, operation_name)
        self._cache.put(key, prepared, _cached_bytes(len(text), prepared))
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
        same = self._cache.get(normal)
        if same is not None:
            return same
        prepared = self._validate_and_plan(document, operation_name)
        if not prepared.errors or prepared.planning_failed:
            self._cache.put(normal, prepared, _cached_bytes(len(printed), prepared))
        return prepared

    def _validate_and_plan(self, document: DocumentNode, operation_name: str | None) -> PreparedOperation:
        with stage_span("graphql.validate"):
            errors = validate(self._request_schema, document)
        if errors:
            return PreparedOperation(errors=tuple(_error(e, GRAPHQL_VALIDATION_FAILED) for e in errors))
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

    # -- execution ----------------------------------------------------------------------------

    async def execute(
        self,
        request: GraphQLRequest,
        *,
        transport: SubgraphTransport,
        headers: Mapping[str, str],
        include_plan: bool = False,
        allow_mutations: bool = True,
        principal: Principal = ANONYMOUS,
        incremental: bool = False,
    ) -> ExecutionOutcome:
        """Validate, plan (cached), authorize for ``principal`` and execute one operation.

        ``incremental``: the client takes incremental delivery; an operation with an active
        ``@defer`` then answers with an :class:`~gateway.incremental.IncrementalOutcome`."""
        prepared = self.prepare(request.query, request.operation_name)
        if prepared.errors:
            if prepared.planning_failed:
                kind = prepared.operation.kind if prepared.operation else None
                return ExecutionOutcome(data=None, errors=list(prepared.errors), operation_type=kind)
            return ExecutionOutcome(errors=list(prepared.errors), request_error=True)
        op = prepared.operation
        assert op is not None and prepared.definition is not None
        if op.kind == "mutation" and not allow_mutations:
            return ExecutionOutcome(
                errors=[{"message": "Mutations are not allowed here (use POST).",
                         "extensions": {"code": OPERATION_NOT_ALLOWED}}],
                request_error=True,
                operation_type=op.kind,
            )
        if op.kind == "subscription":
            return ExecutionOutcome(
                errors=[{"message": "Subscriptions are not supported by this endpoint.",
                         "extensions": {"code": OPERATION_NOT_ALLOWED}}],
                request_error=True,
                operation_type=op.kind,
            )
        raw_vars = dict(request.variables or {})
        coerced = get_variable_values(self.api_schema, prepared.definition.variable_definitions or (), raw_vars)
        if isinstance(coerced, list):
            return ExecutionOutcome(errors=[_error(e, BAD_USER_INPUT) for e in coerced], request_error=True,
                                    operation_type=op.kind)
        refused = _null_conditions(prepared, coerced.coerced)
        if refused:
            return ExecutionOutcome(errors=refused, request_error=True, operation_type=op.kind)
        # Subgraphs get the client's JSON values (not Python-coerced ones) with defaults filled in.
        forwarded = {}
        for name, vd in op.variables.items():
            if name in raw_vars:
                forwarded[name] = raw_vars[name]
            elif vd.has_default:
                forwarded[name] = vd.default
        verdict = None
        if prepared.cost is not None:
            verdict = self.demand.check(prepared.cost, prepared.definition, forwarded)
            if verdict.error is not None:  # refused before any subgraph is called
                ext = {"cost": self.demand.report(prepared.cost, prepared.definition, verdict, None)}
                return ExecutionOutcome(errors=[verdict.error], request_error=True, operation_type=op.kind,
                                        extensions=ext if self.demand.config.expose else None)
        if incremental and prepared.has_defer:
            streamed = await self._deferred(prepared, forwarded, transport=transport, headers=headers,
                                            principal=principal, include_plan=include_plan)
            if streamed is not None:
                return streamed
        outcome = await self.run_prepared(prepared, forwarded, transport=transport, headers=headers,
                                          include_plan=include_plan, principal=principal)
        if verdict is not None and prepared.cost is not None and self.demand.config.expose:
            cost = self.demand.report(prepared.cost, prepared.definition, verdict, outcome.data)
            outcome = dataclasses.replace(outcome, extensions={**(outcome.extensions or {}), "cost": cost})
        return outcome

    async def run_prepared(
        self,
        prepared: PreparedOperation,
        variables: Mapping[str, Any],
        *,
        transport: SubgraphTransport,
        headers: Mapping[str, str],
        include_plan: bool = False,
        initial_data: Mapping[str, Any] | None = None,
        principal: Principal = ANONYMOUS,
        initial_errors: Sequence[Mapping[str, Any]] = (),
        authorized: AuthorizedPlan | None = None,
    ) -> ExecutionOutcome:
        """Execute an already prepared, valid operation with checked variables.

        Not tied to a request: a subscription calls it once per event, passing the
        event's root data as ``initial_data`` and its errors as ``initial_errors``; the
        ``rest`` of its :class:`SubscriptionNode` (entity fetches) then runs over it.
        The supergraph's authorization directives are enforced for ``principal`` first:
        denied selections are left out of the plan (see :mod:`gateway.authorization`),
        unless ``authorized`` is that decision made already (by :meth:`authorize`).
        """
        op = prepared.operation
        assert op is not None
        decided = authorized if authorized is not None else self.authorize(prepared, principal, headers)
        if isinstance(decided, ExecutionOutcome):
            return decided
        plan, plan_text = decided.plan, decided.plan_text
        auth_errors = [{**e, "extensions": dict(e["extensions"])} for e in decided.errors]
        if isinstance(plan, SubscriptionNode):
            plan = plan.rest  # the primary fetch is the subscription whose event this is
        ctx = FetchContext(
            transport=transport,
            headers=headers,
            urls=self._urls,
            variables=variables,
            object_types=self._object_types,
            possible=self._possible,
        )
        if auth_errors:
            # known before any fetch; with them present, nulls they cause bubble quietly
            ctx.errors.extend(auth_errors)
        ctx.errors.extend(dict(e) for e in initial_errors)
        if initial_data:
            merge(ctx.data, dict(initial_data), self._object_types)
        with stage_span("graphql.execute"):
            await run_plan(plan, ctx)
        introspection = None
        if prepared.introspection is not None:
            introspection, errors = self._introspect(prepared, variables)
            ctx.errors.extend(dict(e) for e in errors)
        data = format_data(self.api_schema, op, ctx.data, variables, ctx.errors, prepared.compiled,
                           prepared.shapes, introspection)
        extensions = None
        if include_plan:
            extensions = {"queryPlan": {"text": plan_text}}
        return ExecutionOutcome(data=data, errors=ctx.errors, extensions=extensions, operation_type=op.kind)

    def authorize(self, prepared: PreparedOperation, principal: Principal,
                  headers: Mapping[str, str]) -> AuthorizedPlan | ExecutionOutcome:
        """The plan ``principal`` may run, or the outcome refusing it (reject mode, nothing left)."""
        op = prepared.operation
        assert op is not None
        if prepared.access is None:
            return AuthorizedPlan(prepared.plan, prepared.plan_text)
        with stage_span("graphql.authorize"):
            verdict = self._authorization.decide(prepared.access, op, principal)
        if verdict is None:
            return AuthorizedPlan(prepared.plan, prepared.plan_text)
        stage = self._authorization
        rejected = verdict.everything or stage.config.mode == "reject"
        stage.report(verdict, principal, headers, rejected=rejected, checks=prepared.access)
        if stage.config.dry_run:
            return AuthorizedPlan(prepared.plan, prepared.plan_text)
        if rejected:
            return ExecutionOutcome(data=None, errors=verdict.errors_copy(), operation_type=op.kind)
        verdict = stage.planned(verdict, self._plan_variant)
        if verdict.planning_error is not None:
            return ExecutionOutcome(
                data=None, operation_type=op.kind,
                errors=[{"message": verdict.planning_error, "extensions": {"code": QUERY_PLANNING_FAILED}}],
            )
        return AuthorizedPlan(verdict.plan, verdict.plan_text, tuple(verdict.errors))

    async def _deferred(self, prepared: PreparedOperation, variables: Mapping[str, Any], *,
                        transport: SubgraphTransport, headers: Mapping[str, str],
                        principal: Principal, include_plan: bool = False) -> ExecutionOutcome | None:
        """``@defer`` delivered incrementally (gateway/incremental.py); None: run it whole (nothing
        active to defer, or authorization took selections out of the plan)."""
        op = prepared.operation
        assert op is not None
        decided = self.authorize(prepared, principal, headers)
        if isinstance(decided, ExecutionOutcome):
            return decided
        if decided.plan is not prepared.plan:
            return await self.run_prepared(prepared, variables, transport=transport, headers=headers,
                                           principal=principal, authorized=decided)
        key = defer_key(op, variables)
        if key not in prepared.deferred:
            try:
                prepared.deferred[key] = plan_deferred(self._planner, op, dict(key))
            except Exception:  # the whole plan still serves: the client gets one JSON body
                logging.getLogger("gateway.incremental").warning("no deferred plan", exc_info=True)
                prepared.deferred[key] = None
        plan = prepared.deferred[key]
        if plan is None:
            return None
        introspection: Mapping[str, Any] | None = None
        errors: list[dict[str, Any]] = []
        if prepared.introspection is not None:
            introspection, found = self._introspect(prepared, variables)
            errors.extend(dict(e) for e in found)

        def context(data: dict[str, Any]) -> FetchContext:
            return FetchContext(transport=transport, headers=headers, urls=self._urls, variables=variables,
                                object_types=self._object_types, possible=self._possible, data=data)

        with stage_span("graphql.execute"):
            outcome = await incremental_outcome(plan, self.api_schema, variables, context, operation_type=op.kind,
                                                initial_errors=errors, introspection=introspection)
        if include_plan:
            outcome.extensions = {"queryPlan": {"text": print_plan(plan.node)}}
        return outcome

    def deferred_plan_text(self, query: str, variables: Mapping[str, Any] | None = None,
                           operation_name: str | None = None) -> str:
        """The printed ``Defer { Primary, [Deferred] }`` plan of an operation with ``@defer``
        (its ordinary plan when nothing is deferred; raises ``ValueError`` like :meth:`plan_text`)."""
        prepared = self.prepare(query, operation_name)
        if prepared.errors or prepared.operation is None:
            raise ValueError("; ".join(e["message"] for e in prepared.errors))
        plan = plan_deferred(self._planner, prepared.operation, dict(defer_key(prepared.operation, variables or {})))
        return print_plan(plan.node) if plan is not None else prepared.plan_text

    def _plan_variant(self, op: NormalizedOperation) -> tuple[Plan | None, str]:
        """Plan an operation the authorization stage filtered (raises PlanningError)."""
        plan = self._planner.plan(op)
        return plan, print_plan(plan)

    def _introspect(
        self, prepared: PreparedOperation, variables: Mapping[str, Any]
    ) -> tuple[dict[str, Any], tuple[dict[str, Any], ...]]:
        """The introspection part of an operation, from the per-operation cache when possible."""
        try:
            key = orjson.dumps(dict(variables), option=orjson.OPT_SORT_KEYS)
        except TypeError:
            key = None  # variables orjson cannot encode: answer without caching
        cached = prepared.introspection_results.get(key) if key is not None else None
        if cached is not None:
            return cached
        assert prepared.introspection is not None
        result = execute(
            self.api_schema,
            prepared.introspection,
            variable_values=dict(variables),
            middleware=list(INTROSPECTION_MIDDLEWARE),
        )
        # graphql-core's refusals here are about the request's values (a null @skip condition): BAD_USER_INPUT.
        errors = tuple(
            {**e.formatted, "extensions": {"code": BAD_USER_INPUT, **(e.extensions or {})}}
            for e in result.errors or ()  # type: ignore[union-attr]
        )
        answer = (result.data or {}, errors)  # type: ignore[union-attr]
        if key is not None and len(prepared.introspection_results) < _INTROSPECTION_CACHE_PER_OPERATION:
            prepared.introspection_results[key] = answer
        return answer

    def plan_text(self, query: str, operation_name: str | None = None) -> str:
        """The printed plan of an operation (raises ``ValueError`` with the request errors)."""
        prepared = self.prepare(query, operation_name)
        if prepared.errors:
            raise ValueError("; ".join(e["message"] for e in prepared.errors))
        return prepared.plan_text


def _null_conditions(prepared: PreparedOperation, coerced: Mapping[str, Any]) -> list[dict[str, Any]]:
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
