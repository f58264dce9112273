"""Helpers of the e2e subscription tests: the running stack, tokens, mutations, stream readers."""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from joserfc import jwt

from subgraphs.common import demo
from subgraphs.identity.keys import KeyStore
from tests.support.identity import IdentityIssuer

PRODUCT_EVENTS = "subscription { productEvents { id name version passportCount passports { name } } }"
VERSION = "query($id: ID!) { product(id: $id) { version } }"
RENAME = """mutation($id: ID!, $v: Int!, $name: String!) {
  updateProduct(id: $id, expectedVersion: $v, input: {name: $name}) { id name version } }"""
ACME_PRODUCT = next(p for p in demo.PRODUCTS if p.tenant_key == "acme")


@dataclass
class Stack:
    """The running gateway (``url``), the identity issuer and its key folder."""

    url: str
    issuer: IdentityIssuer
    keys: Path

    @property
    def graphql(self) -> str:
        return self.url + "/graphql"

    @property
    def ws_url(self) -> str:
        return self.graphql.replace("http://", "ws://")

    def token(self, user: str) -> str:
        return self.issuer.token_for(user)

    def short_token(self, user: str, seconds: int) -> str:
        """``user``'s token, re-signed by identity's current key to expire in ``seconds``."""
        key = KeyStore(self.keys, retain_seconds=0).ring().current
        claims = dict(jwt.decode(self.token(user), key.key).claims)
        now = int(time.time())
        claims.update(iat=now, nbf=now, exp=now + seconds, jti=uuid.uuid4().hex)
        return jwt.encode({"alg": "RS256", "typ": "JWT", "kid": key.kid}, claims, key.key)

    def post(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        body: dict[str, Any] = httpx.post(
            self.graphql, json={"query": query, "variables": variables or {}}, headers=headers, timeout=30
        ).json()
        return body

    def rename_product(self, name: str, user: str = "acme-manager") -> dict[str, Any]:
        """Rename the first acme product through the gateway; the mutation's product."""
        token = self.token(user)
        version = self.post(VERSION, {"id": ACME_PRODUCT.id}, token=token)["data"]["product"]["version"]
        body = self.post(RENAME, {"id": ACME_PRODUCT.id, "v": version, "name": name}, token=token)
        assert "errors" not in body, body
        result: dict[str, Any] = body["data"]["updateProduct"]
        return result

    def metric(self, name: str) -> float:
        for line in httpx.get(self.url + "/metrics", timeout=10).text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def wait_opened(self, before: float, count: int = 1) -> None:
        """Until ``count`` more subscriptions were opened (and give the upstream a moment to be live)."""
        deadline = time.monotonic() + 20
        while self.metric("gateway_subscriptions_opened_total") < before + count:
            assert time.monotonic() < deadline, "the subscription was not opened"
            time.sleep(0.05)
        time.sleep(0.5)


class Reader:
    """Reads a stream in a thread: ``items`` gets what ``read`` yields (and ``"END"``, or the exception)."""

    def __init__(self, read: Callable[[], Iterator[Any]]) -> None:
        self.items: queue.Queue[Any] = queue.Queue()
        self._read = read
        self._stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for item in self._read():
                self.items.put(item)
                if self._stopped.is_set():
                    return  # leaving the generator closes its connection
        except Exception as exc:  # reported to the test through the queue
            self.items.put(exc)
        self.items.put("END")

    def stop(self) -> None:
        """Close the stream at its next item (a heartbeat at the latest)."""
        self._stopped.set()
        self.thread.join(10)

    def next(self, timeout: float = 15.0, *, skip: Callable[[Any], bool] = lambda item: item is None) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            item = self.items.get(timeout=max(0.01, deadline - time.monotonic()))
            if not skip(item):
                return item
