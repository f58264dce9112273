"""Domain failures with stable GraphQL error codes.

Resolvers and domain code raise these; the schema extension in
``subgraphs.common.graphql`` turns them into GraphQL errors with
``extensions.code``. Anything else is unexpected: logged with a correlation id
and masked for clients.
"""

from __future__ import annotations

import re
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


_PG_KEY = re.compile(r"Key \((?P<columns>[^)]*)\)=\((?P<values>.*)\) already exists")
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?P<columns>.*)")


def conflict_from(exc: Exception) -> Conflict:
    """The CONFLICT for a constraint violation the domain checks did not turn into one themselves.

    A unique violation names its columns, and on PostgreSQL the conflicting values
    too (ids and the tenant column left out: they say nothing the caller chose).
    Anything else (a foreign key to a row deleted meanwhile) is a generic conflict.
    """
    text = str(getattr(exc, "orig", exc))
    cause = getattr(getattr(exc, "orig", None), "__cause__", None)
    detail = str(getattr(cause, "detail", "") or "")
    named: list[str] = []
    if match := _PG_KEY.search(detail) or _PG_KEY.search(text):
        columns = [c.strip() for c in match["columns"].split(",")]
        values = [v.strip() for v in match["values"].split(",")]
        if len(columns) == len(values):
            named = [f"{c} '{v}'" for c, v in zip(columns, values, strict=True) if _chosen(c)]
        else:
            named = [c for c in columns if _chosen(c)]
    elif match := _SQLITE_UNIQUE.search(text):
        named = [c.strip().rpartition(".")[2] for c in match["columns"].split(",")]
        named = [c for c in named if _chosen(c)]
    if named:
        return Conflict(f"{' and '.join(named)} already exists; choose another")
    return Conflict("the change conflicts with a concurrent change; reload and try again")


def _chosen(column: str) -> bool:
    return column != "id" and not column.endswith("_id")
