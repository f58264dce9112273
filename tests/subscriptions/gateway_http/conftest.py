"""Fixtures of the edge protocol tests: an OIDC issuer and a gateway on the stand-in service."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.oidc_issuer import OidcIssuer

from .ticker import Edge, running_edge


@pytest.fixture(scope="session")
def edge_issuer() -> Iterator[OidcIssuer]:
    with OidcIssuer(realm="subscription-edge") as issuer:
        yield issuer


@pytest.fixture(scope="module")
def edge(edge_issuer: OidcIssuer) -> Iterator[Edge]:
    """One gateway for the module (settings: tests/subscriptions/gateway_http/ticker.py running_edge)."""
    with running_edge(edge_issuer) as running:
        yield running
