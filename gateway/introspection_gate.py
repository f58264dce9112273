"""The production runtime with an introspection policy: :class:`gateway.runtime.Gateway` that refuses
``__schema`` / ``__type`` to callers the policy does not allow (``INTROSPECTION_DISABLED``).

A subclass rather than a wrapper, so that everything that needs the runtime itself (subscriptions,
telemetry, health) keeps working on a policed one; one class per policy mode, built once here.
The check reuses the runtime's cached preparation (limits first, then validation): an operation is
parsed once, and a document the limits refuse is refused by them as before.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from gateway.contracts import ANONYMOUS, ExecutionOutcome, GraphQLRequest, Principal
from gateway.runtime import Gateway
from gateway.variants import INTROSPECTION_MODES_RESOLVED, IntrospectionPolicy, mentions_introspection


class PolicedGateway(Gateway):
    """A :class:`Gateway` whose ``execute`` applies :attr:`introspection_policy` first."""

    introspection_policy = IntrospectionPolicy("on")

    async def execute(self, request: GraphQLRequest, *, principal: Principal = ANONYMOUS,
                      **options: Any) -> ExecutionOutcome:
        """Refuse introspection the policy denies ``principal``; anything else runs as on :class:`Gateway`."""
        policy = self.introspection_policy
        if not policy.allows(principal) and mentions_introspection(request.query):
            prepared = self.prepare(request.query, request.operation_name)
            if not prepared.errors and prepared.introspection is not None:
                return policy.refused()
        return await super().execute(request, principal=principal, **options)


_CLASSES = MappingProxyType({
    mode: type(f"PolicedGateway_{mode}", (PolicedGateway,), {"introspection_policy": IntrospectionPolicy(mode)})
    for mode in INTROSPECTION_MODES_RESOLVED
    if mode != "on"
})


def runtime_class(policy: IntrospectionPolicy | None) -> type[Gateway]:
    """:class:`Gateway`, or its policed subclass for ``policy`` (``None`` and ``on``: no check)."""
    if policy is None or policy.mode == "on":
        return Gateway
    return _CLASSES[policy.mode]
