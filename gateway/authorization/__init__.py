"""Authorization from the supergraph's ``@authenticated`` / ``@requiresScopes`` / ``@policy``.

The runtime computes an operation's checks once when it prepares it
(:meth:`AuthorizationStage.analyze`), and per request asks the stage for a verdict for
the caller (:meth:`AuthorizationStage.decide`): nothing to remove, or the denied
selections with their errors and the filtered operation to plan instead.
"""

from gateway.authorization.checks import Atom, Check, OperationChecks, analyze
from gateway.authorization.filtering import filter_operation
from gateway.authorization.stage import (
    UNAUTHORIZED_FIELD_OR_TYPE,
    UNAUTHORIZED_MESSAGE,
    AuthorizationConfig,
    AuthorizationStage,
    Verdict,
)

__all__ = [
    "UNAUTHORIZED_FIELD_OR_TYPE",
    "UNAUTHORIZED_MESSAGE",
    "Atom",
    "AuthorizationConfig",
    "AuthorizationStage",
    "Check",
    "OperationChecks",
    "Verdict",
    "analyze",
    "filter_operation",
]
