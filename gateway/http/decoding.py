"""Reading a GraphQL request off HTTP: the query parameters of a GET, the JSON body of a POST (its size
bounded, each operation checked field by field), and :class:`RequestProblem` for what the edge refuses."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request

from gateway.auth.stage import EdgeRejection
from gateway.http.negotiation import is_json_content_type
from gateway.persisted import Incoming


class RequestProblem(EdgeRejection):
    """A request the edge refuses before it reaches the runtime."""


def query_params_incoming(request: Request) -> Incoming:
    """The operation of a GET request, from its query parameters."""
    params = request.query_params
    query = params.get("query") or None
    extensions = json_object_param(params.get("extensions"), "extensions")
    document_id = params.get("documentId") or None
    if query is None and document_id is None and not (extensions and "persistedQuery" in extensions):
        raise RequestProblem(400, "BAD_REQUEST", "Missing query: pass it in the query parameter")
    return Incoming(
        query=query,
        variables=json_object_param(params.get("variables"), "variables"),
        operation_name=params.get("operationName") or None,
        extensions=extensions,
        document_id=document_id,
    )


async def decoded_body(request: Request, limit: int) -> dict[str, Any] | list[Any]:
    """The JSON body of a POST request: an object (one operation) or a list (a batch); at most ``limit`` bytes."""
    if not is_json_content_type(request.headers.get("content-type")):
        raise RequestProblem(415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json (UTF-8)")
    body = await read_body(request, limit)
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RequestProblem(400, "BAD_REQUEST", "The request body is not valid JSON") from None
    if not isinstance(decoded, dict | list):
        raise RequestProblem(400, "BAD_REQUEST", "The request body must be a JSON object")
    return decoded


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 beyond ``limit`` bytes (declared or counted) and 408 when cut short."""
    too_large = RequestProblem(413, "PAYLOAD_TOO_LARGE", f"The request body exceeds {limit} bytes")
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise too_large
        except ValueError:
            raise RequestProblem(400, "BAD_REQUEST", "Invalid Content-Length") from None
    # Chunked bodies have no declared length: count while reading, stop at the limit.
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    except ClientDisconnect:  # gone, or closed by the body timeout (gateway/http/guards.py)
        raise RequestProblem(408, "REQUEST_TIMEOUT", "The request body was not received completely") from None
    return b"".join(chunks)


def incoming_from(decoded: Any) -> Incoming:
    """One operation of a POST body (an object), checked field by field."""
    if not isinstance(decoded, dict):
        raise RequestProblem(400, "BAD_REQUEST", "The request body must be a JSON object")
    query = decoded.get("query")
    if query is not None and not isinstance(query, str):
        raise RequestProblem(400, "BAD_REQUEST", "query must be a string")
    variables = decoded.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestProblem(400, "BAD_REQUEST", "variables must be a JSON object")
    operation_name = decoded.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestProblem(400, "BAD_REQUEST", "operationName must be a string")
    extensions = decoded.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestProblem(400, "BAD_REQUEST", "extensions must be a JSON object")
    document_id = decoded.get("documentId")
    if document_id is not None and not (isinstance(document_id, str) and document_id):
        raise RequestProblem(400, "BAD_REQUEST", "documentId must be a non-empty string")
    if not query and document_id is None and not (extensions and "persistedQuery" in extensions):
        raise RequestProblem(400, "BAD_REQUEST", "Missing query")
    return Incoming(
        query=query or None,
        variables=variables,
        operation_name=operation_name or None,
        extensions=extensions,
        document_id=document_id,
    )


def json_object_param(raw: str | None, name: str) -> dict[str, Any] | None:
    """A query parameter holding a JSON object (``variables``, ``extensions``); absent, empty or null: None."""
    if raw is None or raw == "":
        return None
    try:
        decoded = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RequestProblem(400, "BAD_REQUEST", f"{name} is not valid JSON") from None
    if decoded is None:
        return None
    if not isinstance(decoded, dict):
        raise RequestProblem(400, "BAD_REQUEST", f"{name} must be a JSON object")
    return decoded
