"""What a graphql-transport-ws connection reads from its client: credentials and operations.

The credentials of ``connection_init`` (its payload, else the upgrade request's headers), the
request the HTTP endpoint wants for forwarding headers and running queries, and the operation
of a ``subscribe`` message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.types import Scope

from gateway.auth.stage import TENANT_HEADER
from gateway.persisted import Incoming

__all__ = ["auth_headers", "incoming", "request_for"]

# connection_init payload keys (either spelling) -> the header the authentication stage reads
_PAYLOAD_HEADERS = {"authorization": "authorization", "x-tenant-id": TENANT_HEADER, "x-request-id": "x-request-id"}


def auth_headers(upgrade: Mapping[str, str], payload: Mapping[str, Any]) -> dict[str, str] | None:
    """authorization, x-tenant-id and x-request-id: from the payload (any case), else the upgrade request.

    None when the payload gives one of them as something other than a string.
    """
    headers: dict[str, str] = {}
    for name in _PAYLOAD_HEADERS:
        given = upgrade.get(name)
        if given is not None:
            headers[_PAYLOAD_HEADERS[name]] = given
    for key, value in payload.items():
        header = _PAYLOAD_HEADERS.get(key.lower()) if isinstance(key, str) else None
        if header is None:
            continue
        if not isinstance(value, str):
            return None
        headers[header] = value
    return headers


def request_for(upgrade: Scope, auth_headers: Mapping[str, str]) -> Request:
    """A POST request carrying the upgrade request's headers with the connection's credentials:
    what the endpoint forwards to subgraphs and runs queries and mutations with."""
    replaced = {name.encode("latin-1") for name in _PAYLOAD_HEADERS.values()}
    raw = [(name, value) for name, value in upgrade.get("headers", []) if name.lower() not in replaced]
    raw += [(name.encode("latin-1"), value.encode("latin-1", "replace")) for name, value in auth_headers.items()]
    scope = {
        "type": "http",
        "method": "POST",
        "path": upgrade.get("path", "/graphql"),
        "query_string": b"",
        "headers": raw,
        "client": upgrade.get("client"),
        "server": upgrade.get("server"),
        "scheme": "http",
    }
    return Request(scope)


def incoming(payload: Any) -> Incoming | None:
    """The operation of a subscribe payload, or None when its fields have the wrong types."""
    if not isinstance(payload, dict):
        return None
    query = payload.get("query")
    variables = payload.get("variables")
    name = payload.get("operationName")
    extensions = payload.get("extensions")
    if not (query is None or isinstance(query, str)) or not (variables is None or isinstance(variables, dict)):
        return None
    if not (name is None or isinstance(name, str)) or not (extensions is None or isinstance(extensions, dict)):
        return None
    if not query and not (extensions and "persistedQuery" in extensions):
        return None
    return Incoming(query=query or None, variables=variables, operation_name=name or None, extensions=extensions)
