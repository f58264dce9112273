"""A stand-in subscription service and a gateway edge on loopback, for the protocol tests.

``Ticker`` keeps the contract of ``gateway.subscriptions.Subscriptions`` (``open`` / ``aclose``,
``SubscriptionMessage`` streams, ``SubscriptionRejected`` refusals with codes) over a small
schema whose ``ticks(topic)`` events the test publishes from its own thread, so that the client
protocols can be driven exactly (finals, notices, floods) without subgraphs. The end-to-end
tests (tests/subscriptions/e2e) run the real service on the real subgraphs.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from graphql import GraphQLError, OperationType, build_schema, get_operation_ast, parse, validate
from graphql.language import FieldNode
from graphql.utilities import value_from_ast_untyped

from gateway.contracts import ExecutionOutcome, GraphQLRequest, Principal, SubgraphTransport
from gateway.http.app import create_app
from gateway.http.state import GatewayState
from gateway.serve import websocket_options
from gateway.settings import Settings
from gateway.subscriptions.messages import SubscriptionMessage, SubscriptionRejected
from gateway.transport import HTTPTransport
from tests.gateway_http.harness import LocalRuntime
from tests.support.oidc_issuer import OidcIssuer
from tests.support.servers import ServerThread
from tokenauth import IssuerConfig

SDL = """
type Query { hello(name: String = "world"): String version: String }
type Mutation { bump: Int }
type Subscription { ticks(topic: String = "t", flood: Int = 0): Tick }
type Tick { n: Int! topic: String! pad: String }
"""


class SubscribingRuntime(LocalRuntime):
    """LocalRuntime that refuses subscriptions over plain HTTP as ``gateway.runtime.Gateway`` does."""

    async def execute(
        self,
        request: GraphQLRequest,
        *,
        transport: SubgraphTransport,
        headers: Mapping[str, str],
        include_plan: bool = False,
        allow_mutations: bool = True,
    ) -> ExecutionOutcome:
        with contextlib.suppress(GraphQLError):
            operation = get_operation_ast(parse(request.query), request.operation_name)
            if operation is not None and operation.operation == OperationType.SUBSCRIPTION:
                refusal = {
                    "message": "Subscriptions are not supported by this endpoint.",
                    "extensions": {"code": "OPERATION_NOT_ALLOWED"},
                }
                return ExecutionOutcome(errors=[refusal], request_error=True, operation_type="subscription")
        return await super().execute(
            request, transport=transport, headers=headers, include_plan=include_plan, allow_mutations=allow_mutations
        )


@dataclass(frozen=True)
class Opened:
    """What one ``open`` call was given."""

    query: str
    principal: Principal
    headers: Mapping[str, str]
    last_event_id: str | None


class TickStream:
    """One subscriber: a bounded queue (oldest dropped), or an endless flood of ``flood``-byte events."""

    def __init__(self, ticker: Ticker, topic: str, flood: int) -> None:
        self.ticker = ticker
        self.topic = topic
        self.flood = flood
        self.queue: asyncio.Queue[SubscriptionMessage] = asyncio.Queue(maxsize=16)
        self.produced = 0
        self.closed = False

    def push(self, message: SubscriptionMessage) -> None:
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(message)

    def __aiter__(self) -> TickStream:
        return self

    async def __anext__(self) -> SubscriptionMessage:
        if self.closed:
            raise StopAsyncIteration
        if self.flood:
            await asyncio.sleep(0)
            self.produced += 1
            n = self.produced
            return SubscriptionMessage(
                {"data": {"ticks": {"n": n, "topic": self.topic, "pad": "x" * self.flood}}},
                event_id=f"{self.topic}:{n}",
            )
        message = await self.queue.get()
        self.produced += 1
        if message.final:
            self.closed = True
        return message

    async def aclose(self) -> None:
        self.closed = True
        self.ticker.streams.discard(self)


class Ticker:
    """The stand-in service (see the module docstring); :meth:`publish` and :meth:`finish` are thread-safe."""

    def __init__(self) -> None:
        self.schema = build_schema(SDL)
        self.streams: set[TickStream] = set()
        self.opened: list[Opened] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.closed = False

    async def open(
        self,
        request: GraphQLRequest,
        *,
        principal: Principal,
        headers: Mapping[str, str],
        last_event_id: str | None = None,
    ) -> TickStream | SubscriptionRejected:
        self.loop = asyncio.get_running_loop()
        try:
            document = parse(request.query)
        except GraphQLError as exc:
            return SubscriptionRejected([{"message": exc.message, "extensions": {"code": "GRAPHQL_PARSE_FAILED"}}])
        errors = validate(self.schema, document)
        if errors:
            return SubscriptionRejected(
                [{"message": e.message, "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}} for e in errors]
            )
        operation = get_operation_ast(document, request.operation_name)
        if operation is None or operation.operation != OperationType.SUBSCRIPTION:
            return SubscriptionRejected(
                [{"message": "Only subscriptions are opened here", "extensions": {"code": "OPERATION_NOT_ALLOWED"}}]
            )
        root = operation.selection_set.selections[0]
        assert isinstance(root, FieldNode)
        variables = dict(request.variables or {})
        args = {a.name.value: value_from_ast_untyped(a.value, variables) for a in root.arguments or ()}
        self.opened.append(Opened(request.query, principal, dict(headers), last_event_id))
        stream = TickStream(self, str(args.get("topic", "t")), int(args.get("flood") or 0))
        self.streams.add(stream)
        return stream

    async def aclose(self) -> None:
        self.closed = True

    @property
    def active(self) -> int:
        return len(self.streams)

    def subscribers(self, topic: str) -> int:
        return sum(1 for s in self.streams if s.topic == topic)

    def publish(self, topic: str, n: int, *, final: bool = False, payload: dict[str, Any] | None = None) -> None:
        """One event (or, with ``payload``, that message) to every subscriber of ``topic``."""
        body = payload or {"data": {"ticks": {"n": n, "topic": topic, "pad": None}}}
        message = SubscriptionMessage(body, event_id=f"{topic}:{n}", final=final)

        def deliver() -> None:
            for stream in list(self.streams):
                if stream.topic == topic:
                    stream.push(message)

        self._call(deliver)

    def _call(self, work: Any) -> None:
        assert self.loop is not None, "nobody subscribed yet"
        done = threading.Event()

        def run() -> None:
            work()
            done.set()

        self.loop.call_soon_threadsafe(run)
        done.wait(5)


@dataclass
class Edge:
    """A gateway edge on loopback with :class:`Ticker` behind it."""

    server: ServerThread
    ticker: Ticker
    issuer: OidcIssuer
    settings: Settings
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{self.server.url}/graphql"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}/graphql"

    def token(self, **claims: Any) -> str:
        return self.issuer.issue(**claims)


@contextlib.contextmanager
def running_edge(issuer: OidcIssuer, **settings: Any) -> Iterator[Edge]:
    """A gateway (create_app, uvicorn) on :class:`Ticker`; ``settings`` override the test defaults."""
    values: dict[str, Any] = {
        "log_level": "warning",
        "auth_issuers": [IssuerConfig(issuer.issuer, audiences=(issuer.audience,))],
        "subscriptions_init_timeout": 1.0,
        "subscriptions_max_per_connection": 3,
        "subscriptions_max_frame_bytes": 4096,
        "subscriptions_heartbeat_interval": 0.3,
        "subscriptions_ping_interval": 0,
        "subscriptions_send_timeout": 1.0,
        **settings,
    }
    asgi: bool = values.pop("asgi", False)  # the ASGI path (any server) instead of gateway serve's protocol
    config = Settings.from_mapping(values)
    state = GatewayState()
    state.install(SubscribingRuntime(SDL), "test")
    ticker = Ticker()
    app = create_app(config, state, HTTPTransport.from_settings(config), subscriptions=ticker)
    options = {} if asgi else websocket_options(config)
    uvicorn_server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", **options))
    with ServerThread(app, uvicorn_server) as server:
        yield Edge(server, ticker, issuer, config)
