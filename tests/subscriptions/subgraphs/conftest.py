"""Subgraph servers here trust the session's identity issuer (tests/support/identity.py)."""

from tests.support.fixtures import identity_issuers, issuer

__all__ = ["identity_issuers", "issuer"]
