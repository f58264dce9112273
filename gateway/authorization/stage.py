"""The authorization stage: filter (or reject) an operation before it is planned and fetched.

Per prepared operation the checks are computed once (:func:`analyze`). Per request the
stage evaluates the caller's facts against the operation's distinct requirements and,
only when something fails, looks up (or plans once) the operation's variant without the
denied selections; variants are cached per operation and per set of failed requirements,
a bounded number of each.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.authorization.checks import OperationChecks, analyze
from gateway.authorization.filtering import filter_operation
from gateway.contracts import Principal
from gateway.planner import PlanningError
from gateway.planner.operation import NormalizedOperation
from gateway.supergraph import Supergraph

__all__ = [
    "UNAUTHORIZED_FIELD_OR_TYPE",
    "UNAUTHORIZED_MESSAGE",
    "AuthorizationConfig",
    "AuthorizationStage",
    "Verdict",
]

UNAUTHORIZED_FIELD_OR_TYPE = "UNAUTHORIZED_FIELD_OR_TYPE"
UNAUTHORIZED_MESSAGE = "Unauthorized field or type"
MODES = ("filter", "reject")

logger = logging.getLogger("gateway.authorization")
audit_logger = logging.getLogger("gateway.audit")

# a plan function: the filtered operation -> (plan, printed plan); raises on planning failure
PlanFn = Callable[[NormalizedOperation], tuple[Any, str]]


@dataclass(frozen=True, slots=True)
class AuthorizationConfig:
    """How the stage answers what a caller may not see.

    ``mode``: ``filter`` (default) removes denied fields and answers them as null with an
    error each; ``reject`` refuses the whole operation when anything is denied.
    ``dry_run``: decide and log what would be removed, but execute unfiltered.
    """

    mode: str = "filter"
    dry_run: bool = False
    variants_per_operation: int = 32

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"authorization mode must be one of {', '.join(MODES)}, not {self.mode!r}")


@dataclass(slots=True)
class Verdict:
    """What one set of failed requirements means for one operation."""

    denied: tuple[int, ...]  # check indexes
    errors: tuple[dict[str, Any], ...]
    everything: bool  # nothing the client asked for is left: reject the request
    denied_mutations: tuple[str, ...]
    operation: NormalizedOperation | None = None  # the filtered operation (planned lazily)
    plan: Any = None
    plan_text: str = ""
    planned: bool = False
    planning_error: str | None = None

    def errors_copy(self) -> list[dict[str, Any]]:
        """Fresh error dicts for one response (callers may add to them)."""
        return [{**e, "extensions": dict(e["extensions"])} for e in self.errors]


def _error(path: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"message": UNAUTHORIZED_MESSAGE}
    if path:
        out["path"] = list(path)
    out["extensions"] = {"code": UNAUTHORIZED_FIELD_OR_TYPE}
    return out


class AuthorizationStage:
    """Enforces the supergraph's authorization directives for one loaded supergraph."""

    def __init__(self, supergraph: Supergraph, config: AuthorizationConfig | None = None) -> None:
        self.supergraph = supergraph
        self.config = config or AuthorizationConfig()

    def analyze(self, op: NormalizedOperation) -> OperationChecks | None:
        """The checks of a prepared operation (None: it asks for nothing; keep it with the plan)."""
        return analyze(self.supergraph, op)

    def decide(self, checks: OperationChecks, op: NormalizedOperation, principal: Principal) -> Verdict | None:
        """The verdict for ``principal`` (None: everything is authorized, run the prepared plan)."""
        failing = checks.failing(principal)
        if not failing:
            return None
        verdict = checks.verdicts.get(failing)
        if verdict is None:
            verdict = self._verdict(checks, op, failing)
            if len(checks.verdicts) < self.config.variants_per_operation:
                checks.verdicts[failing] = verdict
        return verdict if verdict.denied else None

    def planned(self, verdict: Verdict, plan: PlanFn) -> Verdict:
        """``verdict`` with the filtered operation planned (once per cached verdict)."""
        if not verdict.planned:
            assert verdict.operation is not None
            try:
                verdict.plan, verdict.plan_text = plan(verdict.operation)
            except PlanningError as exc:  # the filtered operation cannot be served
                verdict.planning_error = str(exc)
            verdict.planned = True
        return verdict

    @staticmethod
    def _verdict(checks: OperationChecks, op: NormalizedOperation, failing: frozenset[int]) -> Verdict:
        denied = checks.denied(failing)
        # one error per removed path (the same field selected twice is one removal)
        errors = tuple(_error(path) for path in dict.fromkeys(checks.checks[i].path for i in denied))
        removed = frozenset(id(checks.checks[i].selection) for i in denied if checks.checks[i].selection is not None)
        whole = any(checks.checks[i].selection is None for i in denied)
        filtered = None if whole else filter_operation(op, removed)
        mutations = tuple(m for i in denied if (m := checks.checks[i].mutation_field) is not None)
        if filtered is None:
            mutations = checks.mutation_fields
        return Verdict(denied, errors, filtered is None, mutations, filtered)

    # -- reporting -------------------------------------------------------------------------

    def report(
        self,
        verdict: Verdict,
        principal: Principal,
        headers: Mapping[str, str],
        *,
        rejected: bool,
        checks: OperationChecks,
    ) -> None:
        """Log what was (or, in dry run, would have been) removed; audit denied mutations."""
        request_id = headers.get("x-request-id") or None
        paths = [e.get("path", []) for e in verdict.errors]
        if self.config.dry_run:
            logger.warning(
                "%s",
                orjson.dumps(
                    {
                        "event": "authorization.dry_run",
                        "would_remove": paths,
                        "would_reject": rejected,
                        "tenant": principal.tenant_id,
                        "user": principal.user_id,
                        "correlation_id": request_id,
                    }
                ).decode(),
            )
            return
        logger.debug("unauthorized paths %s (request %s)", paths, request_id)
        actions = checks.mutation_fields if rejected else verdict.denied_mutations
        for action in actions:
            audit_logger.info(
                "%s",
                orjson.dumps(
                    {
                        "tenant": principal.tenant_id,
                        "user": principal.user_id,
                        "action": action,
                        "result": "DENIED",
                        "reason": UNAUTHORIZED_FIELD_OR_TYPE,
                        "correlation_id": request_id,
                        "source": "gateway",
                    }
                ).decode(),
            )
