"""Fixtures for the HTTP edge tests (helpers live in ``harness.py``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.support.oidc_issuer import OidcIssuer
from tokenauth import IssuerConfig

from .harness import EchoSubgraph, ServerThread, echo_app


@pytest.fixture(scope="session")
def echo_subgraph() -> Iterator[EchoSubgraph]:
    """A loopback subgraph server shared by the session."""
    release = threading.Event()
    with ServerThread(echo_app(release)) as server:
        yield EchoSubgraph(url=server.url, release=release)
        release.set()


@pytest.fixture(scope="session")
def token_issuer() -> Iterator[OidcIssuer]:
    """An OIDC issuer on loopback whose tokens the edge tests' gateways trust (see ``trusting``)."""
    with OidcIssuer(realm="gateway-tests") as issuer:
        yield issuer


def trusting(issuer: OidcIssuer) -> list[IssuerConfig]:
    """The ``auth_issuers`` setting of a gateway that accepts ``issuer``'s tokens."""
    return [IssuerConfig(issuer.issuer, audiences=(issuer.audience,))]
