"""Serving contract variants beside ``/graphql``, and who may introspect each.

A variant is a supergraph of its own (a contract written by ``gateway compose --contract``)
served on its own path (``/partner/graphql``): its runtime validates and introspects against
that supergraph's API schema, while planning still sees every ``@inaccessible`` key and field.
Each variant has its own :class:`GatewayState` and :class:`SupergraphWatcher`, so a changed
contract file is hot-reloaded like the main supergraph (and a broken one refused while the
previous one keeps serving).

Introspection is decided per variant and per caller (:class:`IntrospectionPolicy`): ``on``,
``off``, ``authenticated`` (a verified token), or ``auto`` (``on`` in development, else
``authenticated``). A refused operation is answered ``INTROSPECTION_DISABLED`` before anything
runs; ``GET <path>/schema.graphql`` (the variant's API schema as SDL, for code generators)
follows the same policy. ``/health`` and ``/health/ready`` report each variant's supergraph and
answer 503 while one is not loaded (``/health/live`` does not look at them).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, parse, print_schema
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.auth.stage import AuthStage, EdgeRejection
from gateway.contracts import ANONYMOUS, ExecutionOutcome, GraphQLRequest, Principal, Runtime, SubgraphTransport
from gateway.http.correlation import REQUEST_ID_HEADER, request_id_from, with_request_id
from gateway.http.state import GatewayState
from gateway.introspection import introspection_document
from gateway.settings import Settings
from gateway.telemetry import Telemetry
from gateway.variants_config import MAIN_PATH, VariantSettings

INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
INTROSPECTION_MODES_RESOLVED = ("on", "off", "authenticated")
SDL_MEDIA_TYPE = "text/plain; charset=utf-8"
_MENTIONS_INTROSPECTION = re.compile(r"__(?:schema|type)(?![_0-9A-Za-z])")


def mentions_introspection(query: str) -> bool:
    """Whether ``__schema`` or ``__type`` occurs in the text (``__typename`` does not count); cheap."""
    return _MENTIONS_INTROSPECTION.search(query) is not None


@dataclass(frozen=True, slots=True)
class IntrospectionPolicy:
    """Who may run ``__schema`` / ``__type`` and download the SDL: ``on``, ``off`` or ``authenticated``."""

    mode: str

    @classmethod
    def resolve(cls, mode: str, development: bool) -> IntrospectionPolicy:
        """``auto`` becomes ``on`` in development and ``authenticated`` otherwise."""
        if mode == "auto":
            return cls("on" if development else "authenticated")
        return cls(mode)

    def allows(self, principal: Principal) -> bool:
        """Whether ``principal`` may introspect."""
        return self.mode == "on" or (self.mode == "authenticated" and principal.authenticated)

    def refusal(self) -> str:
        """The message of a refused introspection."""
        if self.mode == "authenticated":
            return "Introspection is only allowed for authenticated callers here; send a bearer token."
        return "Introspection is disabled on this endpoint."

    def refused(self) -> ExecutionOutcome:
        """The answer to a refused introspection: a request error, nothing executed."""
        error = {"message": self.refusal(), "extensions": {"code": INTROSPECTION_DISABLED}}
        return ExecutionOutcome(errors=[error], request_error=True, operation_type="query")


class IntrospectionGuard:
    """A runtime (of a custom factory) that refuses introspection to callers its policy does not allow.

    The production runtime is policed by subclassing instead (gateway/introspection_gate.py), so that
    what needs the :class:`~gateway.runtime.Gateway` itself (subscriptions) keeps it; this wrapper
    serves other runtimes, whose attributes it passes through.
    """

    def __init__(self, runtime: Runtime, policy: IntrospectionPolicy) -> None:
        self.runtime = runtime
        self.policy = policy
        self._takes_principal = _takes_principal(runtime)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.runtime, name)

    async def execute(
        self,
        request: GraphQLRequest,
        *,
        transport: SubgraphTransport,
        headers: Mapping[str, str],
        include_plan: bool = False,
        allow_mutations: bool = True,
        principal: Principal = ANONYMOUS,
    ) -> ExecutionOutcome:
        """Refuse introspection the policy denies ``principal``; run anything else on the runtime."""
        if not self.policy.allows(principal) and self._introspects(request):
            return self.policy.refused()
        options: dict[str, Any] = {"principal": principal} if self._takes_principal else {}
        return await self.runtime.execute(request, transport=transport, headers=headers, include_plan=include_plan,
                                          allow_mutations=allow_mutations, **options)

    def _introspects(self, request: GraphQLRequest) -> bool:
        if not mentions_introspection(request.query):
            return False  # no __schema / __type anywhere in the text: nothing to parse
        prepare = getattr(self.runtime, "prepare", None)
        if prepare is not None:
            return getattr(prepare(request.query, request.operation_name), "introspection", None) is not None
        try:  # a runtime without a preparation cache (tests' stand-ins)
            document = parse(request.query)
        except GraphQLError:
            return False
        return any(introspection_document(document, op) is not None for op in _operations(document))


def _operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def _takes_principal(runtime: Runtime) -> bool:
    return "principal" in inspect.signature(runtime.execute).parameters


RuntimeFactory = Callable[[str], Runtime]


def guarded(factory: RuntimeFactory, policy: IntrospectionPolicy) -> RuntimeFactory:
    """``factory`` (a custom one) whose runtimes follow ``policy`` (unchanged when the policy is ``on``)."""
    if policy.mode == "on":
        return factory

    def build(sdl: str) -> Runtime:
        return IntrospectionGuard(factory(sdl), policy)

    return build


class SchemaDownload:
    """``GET <path>/schema.graphql``: the API schema's SDL of one variant, under its introspection policy."""

    def __init__(self, state: GatewayState, policy: IntrospectionPolicy, auth: AuthStage) -> None:
        self._state = state
        self._policy = policy
        self._auth = auth

    async def handle(self, request: Request) -> Response:
        """200 with the SDL; 401/403 when the policy refuses the caller; 503 before the first load."""
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        response = await self._answer(request, request_id)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response

    async def _answer(self, request: Request, request_id: str) -> Response:
        loaded = self._state.current
        if loaded is None:
            return _problem(request_id, 503, "SERVICE_UNAVAILABLE", "No supergraph is loaded yet", {"retry-after": "1"})
        if self._policy.mode == "off":
            return _problem(request_id, 403, INTROSPECTION_DISABLED, self._policy.refusal())
        runtime = loaded.runtime
        if self._policy.mode != "on":
            client = request.client.host if request.client else "unknown"
            try:
                who = await self._auth.authenticate(request.headers, client, getattr(runtime, "policy_names", ()))
            except EdgeRejection as problem:
                return _problem(request_id, problem.status, problem.code, problem.message, problem.headers)
            if not self._policy.allows(who.principal):
                return _problem(request_id, 401, INTROSPECTION_DISABLED, self._policy.refusal(),
                                {"www-authenticate": "Bearer"})
        schema = getattr(runtime, "api_schema", None)
        if schema is None:
            return _problem(request_id, 404, "NOT_FOUND", "This runtime has no API schema to show")
        headers = {"etag": f'"{loaded.sha256}"', "cache-control": "no-cache"}
        return Response(print_schema(schema) + "\n", media_type=SDL_MEDIA_TYPE, headers=headers)


def _problem(request_id: str, status: int, code: str, message: str,
             headers: Mapping[str, str] | None = None) -> Response:
    body = with_request_id({"errors": [{"message": message, "extensions": {"code": code}}]}, request_id)
    return Response(orjson.dumps(body), status_code=status, headers=dict(headers or {}),
                    media_type="application/json; charset=utf-8")


@dataclass(slots=True)
class _Served:
    settings: VariantSettings
    state: GatewayState
    policy: IntrospectionPolicy
    watcher: Any  # gateway.serve.SupergraphWatcher (imported late: serve imports this module)
    endpoint: Any = None  # gateway.http.app.GraphQLEndpoint once mounted


class ServedVariants:
    """The variants of one server: their states and watchers, their routes, their lifetimes."""

    def __init__(self, settings: Settings, runtime_factory: RuntimeFactory | None,
                 on_install: Callable[[], None] | None) -> None:
        from gateway.serve import SupergraphWatcher, gateway_runtime_factory

        def factory_for(policy: IntrospectionPolicy) -> RuntimeFactory:
            if runtime_factory is None:  # production: a policed Gateway subclass
                return gateway_runtime_factory(settings, policy)
            return guarded(runtime_factory, policy)

        self._settings = settings
        self.main_policy = IntrospectionPolicy.resolve(settings.introspection, settings.development)
        self.main_factory = factory_for(self.main_policy)
        self._variants: list[_Served] = []
        for variant in settings.variants:
            policy = IntrospectionPolicy.resolve(variant.introspection, settings.development)
            state = GatewayState()
            watcher = SupergraphWatcher(variant.supergraph_beside(settings.supergraph), state,
                                        factory_for(policy), settings.poll_interval, on_install=on_install)
            self._variants.append(_Served(variant, state, policy, watcher))
        self._tasks: list[asyncio.Task[None]] = []

    def state(self, name: str) -> GatewayState:
        """The state of variant ``name`` (which runtime answers on its path)."""
        return next(v.state for v in self._variants if v.settings.name == name)

    def mount(self, app: Starlette, main: GatewayState, transport: SubgraphTransport, auth: AuthStage,
              telemetry: Telemetry) -> None:
        """Add each variant's GraphQL route and every schema.graphql route to ``app``."""
        from gateway.http.app import GraphQLEndpoint

        routes = [Route(f"{MAIN_PATH}/schema.graphql", SchemaDownload(main, self.main_policy, auth).handle,
                        methods=["GET", "HEAD"])]
        instrumented = telemetry.instrument(transport)
        for served in self._variants:
            served.endpoint = GraphQLEndpoint(self._settings, served.state, instrumented, auth, telemetry)
            path = served.settings.path
            routes.append(Route(path, served.endpoint.handle, methods=["GET", "HEAD", "POST", "PUT", "PATCH",
                                                                         "DELETE", "OPTIONS"]))
            routes.append(Route(f"{path}/schema.graphql", SchemaDownload(served.state, served.policy, auth).handle,
                                methods=["GET", "HEAD"]))
        app.router.routes.extend(routes)
        if self._variants:
            for i, route in enumerate(app.router.routes):
                if isinstance(route, Route) and route.path in ("/health", "/health/ready"):
                    app.router.routes[i] = Route(route.path, self._with_variants(route.endpoint),
                                                 methods=["GET", "HEAD"])

    def _with_variants(self, endpoint: Callable[[Request], Any]) -> Callable[[Request], Any]:
        """``/health`` and ``/health/ready`` also report each variant; one not loaded yet makes them 503."""

        async def answer(request: Request) -> Response:
            response: Response = await endpoint(request)
            try:
                body = orjson.loads(response.body)
            except orjson.JSONDecodeError:
                return response
            report: dict[str, Any] = {}
            for served in self._variants:
                loaded, rejected = served.state.current, served.state.last_rejected
                entry: dict[str, Any] = {"path": served.settings.path, "status": "pass" if loaded else "fail"}
                if loaded is not None:
                    entry["supergraph"] = {"sha256": loaded.sha256, "loadedAt": loaded.loaded_at.isoformat()}
                if rejected is not None:
                    entry["rejected"] = {"sha256": rejected.sha256, "rejectedAt": rejected.rejected_at.isoformat()}
                report[served.settings.name] = entry
            body["variants"] = report
            status = response.status_code
            if status == 200 and any(e["status"] == "fail" for e in report.values()):
                status, body["status"] = 503, "fail"
            return Response(orjson.dumps(body), status_code=status, headers={"cache-control": "no-store"},
                            media_type="application/json; charset=utf-8")

        return answer

    async def start(self) -> None:
        """Load every variant's supergraph, then keep polling them (hot reload)."""
        for served in self._variants:
            await served.watcher.check()
            self._tasks.append(asyncio.create_task(served.watcher.run(), name=f"variant-{served.settings.name}"))

    async def stop(self) -> None:
        """Stop polling and release the variants' endpoints."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for served in self._variants:
            if served.endpoint is not None:
                await served.endpoint.aclose()
