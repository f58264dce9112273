"""Domain failures with stable GraphQL error codes.

Resolvers and domain code raise these; the schema extension in
``subgraphs.common.graphql`` turns them into GraphQL errors with
``extensions.code``. Anything else is unexpected: logged with a correlation id
and masked for clients.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A failure the caller can act on. ``code`` is the stable ``extensions.code``."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions

    def as_extensions(self) -> dict[str, Any]:
        """``extensions`` of the GraphQL error: the code first, then any details."""
        return {"code": self.code, **self.extensions}


class BadUserInput(DomainError):
    """The input is invalid; the message says which part and why."""

    code = "BAD_USER_INPUT"


class NotFound(DomainError):
    """No such object, or not visible to the caller (never reveals which)."""

    code = "NOT_FOUND"


class Conflict(DomainError):
    """The change conflicts with the current state (duplicate name, stale version...)."""

    code = "CONFLICT"


class Forbidden(DomainError):
    """The caller is known but lacks the role or scope for this action."""

    code = "FORBIDDEN"


class Unauthenticated(DomainError):
    """The action needs a signed-in caller, or the credentials are invalid."""

    code = "UNAUTHENTICATED"


def not_found(kind: str, ident: str) -> NotFound:
    """The one wording for missing or invisible objects, so both read the same."""
    return NotFound(f"{kind} {ident!r} not found", kind=kind, id=ident)
