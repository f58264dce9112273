"""The errors of token verification and caller-context resolution.

Every rejected token raises :class:`InvalidToken`, whose message is always the
same (``Invalid or expired token``) so that a client learns nothing about which
check failed; the detail is in :attr:`InvalidToken.reason`, for the server log only.
"""

from __future__ import annotations

INVALID_TOKEN_MESSAGE = "Invalid or expired token"
NOT_A_MEMBER_MESSAGE = "You are not a member of that tenant"


class InvalidToken(Exception):
    """A token was rejected. ``str(exc)`` is stable; ``exc.reason`` says why (log it, never send it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(INVALID_TOKEN_MESSAGE)
        self.reason = reason

    def __str__(self) -> str:
        return INVALID_TOKEN_MESSAGE


class NotAMember(Exception):
    """The caller asked to act in a tenant (``X-Tenant-ID``) they are not a member of."""

    def __init__(self, message: str = NOT_A_MEMBER_MESSAGE) -> None:
        super().__init__(message)
        self.message = message


class ContextUnavailable(Exception):
    """Who is calling cannot be established right now (identity or an issuer is unreachable).

    Callers answer 503: the token may well be valid, so this is never a 401.
    """

    def __init__(self, reason: str) -> None:
        super().__init__("Authentication is temporarily unavailable")
        self.reason = reason


class IssuerUnavailable(ContextUnavailable):
    """A trusted issuer's discovery document or JWKS could not be fetched and no keys are cached."""
