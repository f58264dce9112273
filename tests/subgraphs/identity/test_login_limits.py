"""Login protection: per account (known or not, the same answer) and per client address, counted in the database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.subgraphs.identity.conftest import Identity, serving_identity
from tests.support.client import gql

LOGIN = (
    """mutation($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }"""
)


@pytest.fixture
def limited(database_url_factory, tmp_path: Path) -> Iterator[Identity]:
    """Identity with small limits: 3 failures per account, 5 per address, 600 s lockout."""
    with serving_identity(
        database_url_factory("identity"),
        tmp_path / "data",
        login_max_failures_per_account=3,
        login_max_failures_per_address=5,
        login_lockout_seconds=600,
    ) as served:
        yield served


def _login(identity: Identity, email: str, password: str, address: str | None = None) -> dict[str, Any]:
    headers = {"x-forwarded-for": address} if address else None
    return gql(identity.url, LOGIN, {"email": email, "password": password}, headers=headers)


def _refusal(body: dict[str, Any]) -> tuple[str, str, int]:
    (err,) = body["errors"]
    return err["extensions"]["code"], err["message"], err["extensions"]["retryAfter"]


def test_lockout_reads_the_same_for_known_and_unknown_emails(limited: Identity) -> None:
    refusals = {}
    for email, address in (("admin@acme.example", "10.0.0.1"), ("nobody@acme.example", "10.0.0.2")):
        for _ in range(3):
            assert _login(limited, email, "Wrong-Password-1", address)["errors"][0]["extensions"]["code"] == (
                "UNAUTHENTICATED"
            )
        refusals[email] = _refusal(_login(limited, email, "Acme-Admin-2026", address))
    known, unknown = refusals["admin@acme.example"], refusals["nobody@acme.example"]
    assert known[0] == unknown[0] == "RATE_LIMITED"
    assert 595 <= known[2] <= 600 and 595 <= unknown[2] <= 600
    assert known[1] == f"Too many sign-in attempts; try again in {known[2]} seconds"
    assert unknown[1] == f"Too many sign-in attempts; try again in {unknown[2]} seconds"
    # The right password does not get through a locked account; another account from elsewhere signs in.
    assert "errors" not in _login(limited, "manager@acme.example", "Acme-Manager-2026", "10.0.0.3")
    # Failures are rows of the database, so every replica counts them.
    assert limited.sql("SELECT count(*) FROM identity_login_failures WHERE key = 'account:admin@acme.example'") == [
        (3,)
    ]


def test_success_clears_the_account_counter(limited: Identity) -> None:
    for _ in range(2):
        _login(limited, "viewer@acme.example", "Wrong-Password-1", "10.0.1.1")
    assert "errors" not in _login(limited, "viewer@acme.example", "Acme-Viewer-2026", "10.0.1.1")
    for _ in range(2):
        _login(limited, "viewer@acme.example", "Wrong-Password-1", "10.0.1.2")
    assert "errors" not in _login(limited, "viewer@acme.example", "Acme-Viewer-2026", "10.0.1.2")


def test_per_address_limit_uses_the_forwarded_address_behind_a_trusted_proxy(
    database_url_factory, tmp_path: Path
) -> None:
    # The test client connects from 127.0.0.1, a trusted proxy by default: X-Forwarded-For names the client.
    # uvicorn's own proxy-header handling is off, so TRUSTED_PROXIES is what decides.
    with serving_identity(
        database_url_factory("identity"), tmp_path / "data", proxy_headers=False, login_max_failures_per_address=5
    ) as limited:
        _spray(limited)


def _spray(limited: Identity) -> None:
    for n in range(5):
        _login(limited, f"user{n}@spray.example", "Wrong-Password-1", "192.0.2.7")
    code, _, retry_after = _refusal(_login(limited, "other@spray.example", "Wrong-Password-1", "192.0.2.7"))
    assert code == "RATE_LIMITED" and retry_after > 0
    body = _login(limited, "other@spray.example", "Wrong-Password-1", "192.0.2.8")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_forwarded_for_is_ignored_from_an_untrusted_peer(database_url_factory, tmp_path: Path) -> None:
    with serving_identity(
        database_url_factory("identity"),
        tmp_path / "data",
        proxy_headers=False,
        trusted_proxies=("203.0.113.1",),
        login_max_failures_per_address=2,
    ) as identity:
        for n in range(2):
            _login(identity, f"u{n}@spray.example", "Wrong-Password-1", f"198.51.100.{n}")
        # Different X-Forwarded-For values, one real peer (127.0.0.1): the peer is what counts.
        assert _refusal(_login(identity, "u9@spray.example", "x", "198.51.100.9"))[0] == "RATE_LIMITED"
