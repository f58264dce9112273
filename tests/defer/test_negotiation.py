"""Which Accept headers get incremental delivery (gateway/http/incremental.py)."""

from __future__ import annotations

import pytest

from gateway.http.incremental import accepts_incremental


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("multipart/mixed;deferSpec=20220824, application/json", True),  # Apollo Client
        ('multipart/mixed; boundary="graphql"; deferSpec=20220824', True),
        ('Multipart/Mixed;deferSpec="20220824";q=0.5', True),
        ("multipart/mixed;deferSpec=20220824;q=0", False),
        ("multipart/mixed;deferSpec=20190101", False),  # a spec version this gateway does not speak
        ('multipart/mixed;subscriptionSpec="1.0"', False),  # subscriptions over multipart
        ("multipart/mixed", False),
        ("application/json", False),
        ("*/*", False),
        ("", False),
        (None, False),
    ],
)
def test_accepts_incremental(accept: str | None, expected: bool) -> None:
    assert accepts_incremental(accept) is expected
