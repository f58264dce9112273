"""The JSON response bodies of the gateway's HTTP edge: plain JSON, GraphQL error bodies, and the one
function that writes a GraphQL response body (so each error gets ``extensions.requestId``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

from gateway.contracts import ExecutionOutcome
from gateway.http.correlation import REQUEST_ID_HEADER, with_request_id
from gateway.http.negotiation import APPLICATION_JSON


def json_response(
    body: Any, status: int = 200, media_type: str = APPLICATION_JSON, headers: Mapping[str, str] | None = None
) -> Response:
    """``body`` as JSON (UTF-8)."""
    return Response(
        body.encoded if type(body) is EncodedBody else orjson.dumps(body),
        status_code=status,
        headers=dict(headers or {}),
        media_type=f"{media_type}; charset=utf-8",
    )


class EncodedBody(dict[str, Any]):
    """A response body that carries its JSON (:func:`response_body`); only :func:`json_response` reads it."""

    __slots__ = ("encoded",)
    encoded: bytes


def response_body(outcome: ExecutionOutcome) -> dict[str, Any]:
    """``outcome.to_response()``; a body of data only (nothing per request is added to it) carries its
    JSON, encoded once per outcome: requests that shared an execution share the encoding too."""
    body = outcome.to_response()
    if type(outcome) is not ExecutionOutcome or outcome.errors or outcome.extensions or outcome.request_error:
        return body
    encoded = outcome.encoded
    if encoded is None:
        encoded = outcome.encoded = orjson.dumps(body)
    carried = EncodedBody(body)
    carried.encoded = encoded
    return carried


def error_body(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    """A GraphQL response body with one error: its message and ``extensions.code`` (and ``extensions``)."""
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}


def graphql_json(
    body: dict[str, Any] | list[dict[str, Any]], status: int, media_type: str, headers: Mapping[str, str],
    request_id: str,
) -> Response:
    """A GraphQL response body (or a batch of them) as JSON: the one place the endpoint serialises one,
    so each error gets ``extensions.requestId`` (gateway/http/correlation.py) and the response the header."""
    if isinstance(body, list):
        body = [with_request_id(item, request_id) for item in body]
    else:
        body = with_request_id(body, request_id)
    return json_response(body, status, media_type, {**headers, REQUEST_ID_HEADER: request_id})
