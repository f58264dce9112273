"""The gateway runtime: a loaded supergraph that validates, plans and executes operations.

``Gateway`` implements :class:`gateway.contracts.Runtime`. Per distinct operation
text (and operation name) it parses, validates, normalises and plans once
(:mod:`gateway.preparation`); the prepared result is cached, so a cache hit goes
straight to execution, which is this module's work: variables, demand control,
authorization, the plan's fetches, introspection and response shaping.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLObjectType, GraphQLSchema
from graphql.execution.values import get_variable_values
from graphql.type import is_abstract_type

from gateway.authorization import AuthorizationConfig, AuthorizationStage
from gateway.coalescing import Coalescer
from gateway.contracts import ANONYMOUS, ExecutionOutcome, GraphQLRequest, Principal, SubgraphTransport
from gateway.cost import DemandControl, DemandControlConfig
from gateway.executor import FetchContext, merge, run_plan
from gateway.executor.shaping import format_data
from gateway.incremental import incremental_outcome
from gateway.limits import DEFAULT_LIMITS, OperationLimits, OperationLimitsStage
from gateway.plan_cache import DEFAULT_MAX_BYTES, PlanCache
from gateway.planner import (
    Plan,
    QueryPlanner,
    SubscriptionNode,
    print_plan,
)
from gateway.planner.defer import defer_key, plan_deferred
from gateway.planner.operation import NormalizedOperation
from gateway.preparation import (
    BAD_USER_INPUT,
    OPERATION_NOT_ALLOWED,
    QUERY_PLANNING_FAILED,
    OperationPreparer,
    PreparedOperation,
    introspect,
    null_conditions,
    request_error,
)
from gateway.supergraph import Supergraph, SupergraphError, parse_supergraph
from gateway.telemetry.tracing import stage_span

__all__ = [
    "BAD_USER_INPUT",
    "OPERATION_NOT_ALLOWED",
    "QUERY_PLANNING_FAILED",
    "AuthorizedPlan",
    "Gateway",
    "PreparedOperation",
    "SupergraphError",
]


@dataclass(frozen=True, slots=True)
class AuthorizedPlan:
    """The plan one principal may run (the prepared one, or its variant without denied
    selections) and the errors the denied ones answer with."""

    plan: Plan | None
    plan_text: str
    errors: tuple[dict[str, Any], ...] = ()




class Gateway:
    """A supergraph ready to answer operations (see :class:`gateway.contracts.Runtime`)."""

    def __init__(self, supergraph: Supergraph, subgraph_urls: Mapping[str, str], *, cache_size: int = 1024,
                 authorization: AuthorizationConfig | None = None,
                 limits: OperationLimits = DEFAULT_LIMITS, cache_bytes: int = DEFAULT_MAX_BYTES,
                 cost: DemandControlConfig | None = None, coalesce: bool = False) -> None:
        self.supergraph = supergraph
        # concurrent identical queries share one execution (gateway/coalescing.py); outcomes then are shared
        self.coalescer = Coalescer() if coalesce else None
        self.demand = DemandControl(supergraph.api_schema, supergraph.cost, cost or DemandControlConfig())
        self._authorization = AuthorizationStage(supergraph, authorization)
        self._urls = dict(subgraph_urls)
        self._planner = QueryPlanner(supergraph)
        self.limits = OperationLimitsStage(limits)
        self._preparer = OperationPreparer(supergraph, self._planner, authorization=self._authorization,
                                           demand=self.demand, limits=self.limits, cache_size=cache_size,
                                           cache_bytes=cache_bytes)
        self.prepare_stats = self._preparer.stats  # read by /metrics
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
                            cost: DemandControlConfig | None = None, coalesce: bool = False) -> Gateway:
        """Load a supergraph; raises :class:`SupergraphError` when ``sdl`` is not a valid one."""
        sg = parse_supergraph(sdl)
        urls = {name: s.url for name, s in sg.subgraphs.items()}
        for name, url in (subgraph_url_overrides or {}).items():
            if name not in urls:
                raise SupergraphError(f"URL override for unknown subgraph {name!r}")
            urls[name] = url
        return cls(sg, urls, authorization=authorization, limits=limits, cache_bytes=cache_bytes, cost=cost,
                   coalesce=coalesce)

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

    @property
    def plan_cache(self) -> PlanCache[PreparedOperation]:
        """The prepared operations kept (bounded by entries and estimated bytes)."""
        return self._preparer.cache

    # -- preparation -------------------------------------------------------------------------

    def prepare(self, query: str, operation_name: str | None) -> PreparedOperation:
        """Parse, check the operation limits, validate and plan (cached by operation text and name)."""
        return self._preparer.prepare(query, operation_name)

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
            return ExecutionOutcome(errors=[request_error(e, BAD_USER_INPUT) for e in coerced], request_error=True,
                                    operation_type=op.kind)
        refused = null_conditions(prepared, coerced.coerced)
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
        if self.coalescer is not None and op.kind == "query" and prepared.plan is not None:  # something to share
            outcome = await self._coalesced(prepared, forwarded, transport, headers, include_plan, principal)
        else:
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

    async def _coalesced(self, prepared: PreparedOperation, variables: Mapping[str, Any],
                         transport: SubgraphTransport, headers: Mapping[str, str], include_plan: bool,
                         principal: Principal) -> ExecutionOutcome:
        """:meth:`run_prepared`, shared with identical queries in flight (gateway/coalescing.py);
        authorization is decided (and reported) for this request first."""
        assert self.coalescer is not None
        decided = self.authorize(prepared, principal, headers)
        if isinstance(decided, ExecutionOutcome):
            return decided

        def work() -> Awaitable[ExecutionOutcome]:
            return self.run_prepared(prepared, variables, transport=transport, headers=headers,
                                     include_plan=include_plan, principal=principal, authorized=decided)

        key = Coalescer.key(prepared, variables, headers, principal, include_plan)
        if key is None:
            return await work()
        return await self.coalescer.run((id(transport), key), work)

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
        assert prepared.introspection is not None
        return introspect(self.api_schema, prepared.introspection, variables, prepared.introspection_results)

    def plan_text(self, query: str, operation_name: str | None = None) -> str:
        """The printed plan of an operation (raises ``ValueError`` with the request errors)."""
        prepared = self.prepare(query, operation_name)
        if prepared.errors:
            raise ValueError("; ".join(e["message"] for e in prepared.errors))
        return prepared.plan_text
