"""Identity as the test session's token issuer: real sign-ins, real RS256 tokens, real ``/auth/context``.

One seeded identity server per backend for the whole session (:class:`IdentityIssuers`); every
subgraph test server trusts it through :meth:`IdentityIssuer.overrides` (``OIDC_ISSUERS`` and
``IDENTITY_URL``), and :meth:`IdentityIssuer.token_for` signs demo users in through ``login``,
caching the access token (the test identity's access tokens live ``ACCESS_TOKEN_TTL`` = 900 s;
a cached token older than half of that is replaced by a new sign-in).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from subgraphs.common import demo
from subgraphs.common.app import create_app
from subgraphs.registry import load_definition
from tests.support.client import gql
from tests.support.servers import ServerThread, free_socket
from tests.support.subgraphs import prepared_database, subgraph_settings
from tokenauth import IssuerConfig
from tokenauth.settings import VerifierSettings

ACCESS_TOKEN_TTL = 900
LOGIN = """mutation($email: String!, $password: String!, $tenantId: ID) {
  login(email: $email, password: $password, tenantId: $tenantId) { accessToken refreshToken }
}"""


@dataclass
class IdentityIssuer:
    """A running, seeded identity subgraph acting as the token issuer."""

    base_url: str
    database_url: str
    _tokens: dict[tuple[str, str | None], tuple[float, str]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def url(self) -> str:
        """Identity's GraphQL endpoint."""
        return self.base_url + "/graphql"

    def overrides(self) -> dict[str, Any]:
        """Settings overrides that make a subgraph trust this issuer and ask it for caller contexts."""
        return {
            "issuer_url": self.base_url,
            "identity_url": self.base_url,
            "verifier": VerifierSettings(issuers=(IssuerConfig(self.base_url, audiences=("dpp",)),)),
        }

    def login(self, user_key: str, tenant_key: str | None = None) -> dict[str, Any]:
        """Sign demo user ``user_key`` in (into demo tenant ``tenant_key``); the ``login`` payload."""
        user = next(u for u in demo.USERS if u.key == user_key)
        tenant_id = demo.tenant(tenant_key).id if tenant_key is not None else None
        body = gql(self.url, LOGIN, {"email": user.email, "password": user.password, "tenantId": tenant_id})
        assert "errors" not in body, body
        return body["data"]["login"]

    def token_for(self, user_key: str, tenant_key: str | None = None) -> str:
        """An access token of demo user ``user_key`` in ``tenant_key`` (default: first membership), from a login."""
        key = (user_key, tenant_key)
        with self._lock:
            cached = self._tokens.get(key)
            if cached is None or time.monotonic() - cached[0] > ACCESS_TOKEN_TTL / 2:
                cached = (time.monotonic(), self.login(user_key, tenant_key)["accessToken"])
                self._tokens[key] = cached
            return cached[1]


@contextmanager
def serving_identity(database_url: str, data_dir: Path, **overrides: object) -> Iterator[IdentityIssuer]:
    """Migrate, seed and serve identity as its own issuer (``ISSUER_URL`` = its address, keys in ``data_dir``)."""
    prepared_database("identity", database_url)
    sock = free_socket()
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = subgraph_settings(
        "identity",
        database_url,
        port=int(sock.getsockname()[1]),
        issuer_url=base_url,
        identity_url=base_url,
        data_dir=data_dir,
        access_token_ttl=ACCESS_TOKEN_TTL,
        **overrides,
    )
    server = ServerThread(create_app(load_definition("identity"), settings), sock=sock).start()
    try:
        yield IdentityIssuer(base_url, database_url)
    finally:
        server.stop()


class IdentityIssuers:
    """One identity issuer per backend for a test session, started on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._running: dict[str, IdentityIssuer] = {}
        self._stops: list[Callable[[], None]] = []

    def get(self, backend: str, database_url: Callable[[], str]) -> IdentityIssuer:
        """The issuer of ``backend``; ``database_url()`` gives it a fresh database the first time."""
        if backend not in self._running:
            served = serving_identity(database_url(), self.root / f"identity-{backend}")
            self._running[backend] = served.__enter__()

            def stop(served: AbstractContextManager[IdentityIssuer] = served) -> None:
                served.__exit__(None, None, None)

            self._stops.append(stop)
        return self._running[backend]

    def stop(self) -> None:
        """Stop every issuer started."""
        for stop in reversed(self._stops):
            stop()
        self._stops.clear()
        self._running.clear()
