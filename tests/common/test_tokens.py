"""The dev token issuer and the caller decision."""

from __future__ import annotations

import dataclasses

import pytest

from subgraphs.common.caller import ANONYMOUS, caller_from_headers
from subgraphs.common.errors import Forbidden, Unauthenticated
from subgraphs.common.settings import Settings
from subgraphs.common.tokens import REFRESH, TokenService, TokenSubject

SUBJECT = TokenSubject(user_id="U1", email="a@b.c", tenant_id="T1", roles=("Manager",), scopes=("dpp:read",))


def test_round_trip_keeps_the_subject() -> None:
    tokens = TokenService(Settings.from_env("identity"))
    assert tokens.verify(tokens.issue(SUBJECT)) == SUBJECT


def test_expired_wrong_kind_and_foreign_tokens_are_refused() -> None:
    settings = Settings.from_env("identity")
    tokens = TokenService(settings)
    expired = TokenService(dataclasses.replace(settings, access_token_ttl=-10)).issue(SUBJECT)
    with pytest.raises(Unauthenticated, match="exp"):
        tokens.verify(expired)
    with pytest.raises(Unauthenticated, match=r"wrong kind of token \('refresh' given, 'access' needed\)"):
        tokens.verify(tokens.issue(SUBJECT, REFRESH))
    foreign = TokenService(dataclasses.replace(settings, jwt_secret="x" * 64)).issue(SUBJECT)
    with pytest.raises(Unauthenticated, match="BadSignatureError"):
        tokens.verify(foreign)


def test_caller_roles_rank() -> None:
    tokens = TokenService(Settings.from_env("identity"))
    caller = caller_from_headers({"authorization": f"Bearer {tokens.issue(SUBJECT)}"}, tokens)
    assert caller.require_role("Viewer") == "T1"
    assert caller.require_role("Manager") == "T1"
    with pytest.raises(Forbidden, match="needs the Admin role"):
        caller.require_role("Admin")
    assert caller_from_headers({}, tokens) is ANONYMOUS
    with pytest.raises(Unauthenticated, match="Sign in"):
        ANONYMOUS.require_tenant()
