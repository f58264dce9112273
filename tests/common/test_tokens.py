"""The caller object: role ranks, scopes and policies, and what anonymous callers may not do."""

from __future__ import annotations

import pytest

from subgraphs.common.caller import ANONYMOUS, Caller, caller_from_context
from subgraphs.common.errors import Forbidden, Unauthenticated
from tokenauth import CallerContext

CONTEXT = CallerContext(
    user_id="U1",
    email="a@b.c",
    tenant_id="T1",
    roles=("Manager",),
    scopes=frozenset({"catalog:write"}),
    policies=frozenset({"passport:publish"}),
    platform_admin=False,
    acting_as_platform_admin=False,
    tenant_class="professional",
    session_id="S1",
    expires_at=2_000_000_000,
)


def test_caller_from_context_keeps_everything_identity_said() -> None:
    caller = caller_from_context(CONTEXT, "the-token")
    assert (caller.user_id, caller.email, caller.tenant_id, caller.roles) == ("U1", "a@b.c", "T1", ("Manager",))
    assert (caller.tenant_class, caller.session_id, caller.acting_as_platform_admin) == ("professional", "S1", False)
    assert caller.has_scope("catalog:write") and not caller.has_scope("identity:admin")
    assert caller.has_policy("passport:publish") and not caller.has_policy("passport:revoke")
    assert caller.forwarded_headers() == {"authorization": "Bearer the-token"}
    assert "the-token" not in repr(caller)


def test_caller_roles_rank() -> None:
    caller = caller_from_context(CONTEXT, "t")
    assert caller.require_role("Viewer") == "T1"
    assert caller.require_role("Manager") == "T1"
    with pytest.raises(Forbidden, match="needs the Admin role"):
        caller.require_role("Admin")
    assert Caller(user_id="P", tenant_id="T9", platform_admin=True).require_role("Admin") == "T9"


def test_anonymous_may_do_nothing_private() -> None:
    assert ANONYMOUS.is_anonymous and not ANONYMOUS.has_scope("catalog:write") and ANONYMOUS.forwarded_headers() == {}
    with pytest.raises(Unauthenticated, match="Sign in"):
        ANONYMOUS.require_tenant()
    with pytest.raises(Forbidden, match="platform administrators"):
        Caller(user_id="U1").require_platform_admin()
