"""A small GraphQL client for tests (tokens come from identity: tests/support/identity.py)."""

from __future__ import annotations

from typing import Any

import httpx


def gql(
    url: str,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST one operation; returns the decoded JSON body (whatever the status)."""
    all_headers = {"content-type": "application/json", **(headers or {})}
    if token:
        all_headers["authorization"] = f"Bearer {token}"
    response = httpx.post(url, json={"query": query, "variables": variables or {}}, headers=all_headers, timeout=30)
    return response.json()


def sql_statements(base_url: str, service: str) -> int:
    """``dpp_sql_statements_total`` of ``service`` so far, read from the server's ``/metrics``."""
    text = httpx.get(base_url + "/metrics", timeout=10).text
    prefix = f'dpp_sql_statements_total{{service="{service}"}} '
    line = next((x for x in text.splitlines() if x.startswith(prefix)), None)
    assert line is not None, f"no statement counter for {service} in /metrics"
    return int(float(line.removeprefix(prefix)))
