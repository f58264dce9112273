"""Expected error bodies with the correlation id (``extensions.requestId``, gateway/http/correlation.py).

Written apart from the gateway's own code on purpose: a test states what the client must get.
"""

from __future__ import annotations

from typing import Any

import httpx

REQUEST_ID = "requestId"


def tagged(body: Any, request_id: str) -> Any:
    """``body`` (a response body, a batch of them, an incremental payload, a list of errors or one error)
    as the gateway answers it: each error's ``extensions`` ends with ``requestId``."""
    if isinstance(body, list):
        return [tagged(item, request_id) for item in body]
    if not isinstance(body, dict):
        return body
    if "message" in body:  # one error
        return {**body, "extensions": {**(body.get("extensions") or {}), REQUEST_ID: request_id}}
    out = dict(body)
    for key in ("errors", "incremental", "payload"):
        if isinstance(out.get(key), list | dict):
            out[key] = tagged(out[key], request_id)
    return out


def expected(body: Any, response: httpx.Response) -> Any:
    """``body`` tagged with the id of ``response``'s ``x-request-id`` header."""
    return tagged(body, response.headers["x-request-id"])


def untagged(body: Any, request_id: str) -> Any:
    """``body`` with each error's ``requestId`` checked to be ``request_id`` and taken out (an error
    whose extensions then hold nothing loses them): for comparing two responses."""
    if isinstance(body, list):
        return [untagged(item, request_id) for item in body]
    if not isinstance(body, dict):
        return body
    if "message" in body:
        extensions = dict(body.get("extensions") or {})
        assert extensions.pop(REQUEST_ID, None) == request_id, body
        out = {**body, "extensions": extensions}
        if not extensions:
            del out["extensions"]
        return out
    out = dict(body)
    for key in ("errors", "incremental", "payload"):
        if isinstance(out.get(key), list | dict):
            out[key] = untagged(out[key], request_id)
    return out


def checked(response: httpx.Response) -> Any:
    """``response``'s JSON body after checking each error's ``requestId`` against its ``x-request-id`` header,
    without them."""
    return untagged(response.json(), response.headers["x-request-id"])
