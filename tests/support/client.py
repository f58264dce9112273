"""A small GraphQL client and token helpers for tests."""

from __future__ import annotations

from typing import Any

import httpx

from subgraphs.common import demo
from subgraphs.common.settings import Settings
from subgraphs.common.tokens import TokenService, TokenSubject


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


def token_for(user_key: str, tenant_key: str | None = None) -> str:
    """An access token for demo user ``user_key`` acting in ``tenant_key`` (default: first membership)."""
    user = next(u for u in demo.USERS if u.key == user_key)
    memberships = dict(user.memberships)
    tenant_key = tenant_key or user.memberships[0][0]
    subject = TokenSubject(
        user_id=user.id,
        email=user.email,
        tenant_id=demo.tenant(tenant_key).id,
        roles=tuple(memberships.get(tenant_key, ())),
        platform_admin=user.platform_admin,
    )
    return TokenService(Settings.from_env("identity")).issue(subject)


def sql_statements(base_url: str, service: str) -> int:
    """``dpp_sql_statements_total`` of ``service`` so far, read from the server's ``/metrics``."""
    text = httpx.get(base_url + "/metrics", timeout=10).text
    prefix = f'dpp_sql_statements_total{{service="{service}"}} '
    line = next((x for x in text.splitlines() if x.startswith(prefix)), None)
    assert line is not None, f"no statement counter for {service} in /metrics"
    return int(float(line.removeprefix(prefix)))
