"""tokenauth's verifier remembers a verified token until its ``exp``, and nothing else gets through because of it.

The memory is keyed by the exact token text: a tampered, re-signed or forged variant of a remembered
token is another text and is checked in full; a remembered token past its ``exp`` is checked in full
again (and refused once the leeway is over), and so is one whose issuer's keys were fetched again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.common.test_jwt_attacks import CASES, Issuers, flip_signature, tamper_claims, with_header
from tests.support.oidc_issuer import OidcIssuer, new_key
from tokenauth import INVALID_TOKEN_MESSAGE, InvalidToken, IssuerConfig, TokenVerifier


@pytest.fixture(scope="module")
def issuers() -> Iterator[Issuers]:
    with OidcIssuer(realm="trusted") as trusted, OidcIssuer(realm="other") as other:
        yield Issuers(trusted, other)


@pytest.fixture
async def verifier(issuers: Issuers) -> AsyncIterator[TokenVerifier]:
    configs = [IssuerConfig(i.issuer, audiences=("dpp",)) for i in (issuers.trusted, issuers.other)]
    verifier = TokenVerifier(configs, leeway=30, min_refresh_interval=10.0)
    yield verifier
    await verifier.aclose()


async def refused(verifier: TokenVerifier, token: str) -> InvalidToken:
    with pytest.raises(InvalidToken) as caught:
        await verifier.verify(token)
    assert str(caught.value) == INVALID_TOKEN_MESSAGE
    return caught.value


async def test_a_verified_token_is_remembered_and_answered_again(issuers: Issuers, verifier: TokenVerifier) -> None:
    token = issuers.trusted.issue(tid="T1", scope="catalog:write")
    first = await verifier.verify(token)
    assert verifier.remembered() == 1
    again = await verifier.verify(token)
    assert again is first  # no second decode: the very same result
    assert (again.subject, again.tenant_id, again.scopes) == ("user-1", "T1", {"catalog:write"})
    with pytest.raises(TypeError):
        again.claims["sub"] = "admin"  # type: ignore[index]  # shared between requests: read-only


@pytest.mark.parametrize("case", list(CASES))
async def test_every_attack_is_still_refused_after_a_good_token_is_remembered(
    case: str, issuers: Issuers, verifier: TokenVerifier
) -> None:
    good = issuers.trusted.issue()
    await verifier.verify(good)
    await verifier.verify(good)
    assert verifier.remembered() == 1
    await refused(verifier, CASES[case](issuers))
    assert (await verifier.verify(good)).subject == "user-1"


async def test_variants_of_a_remembered_token_are_checked_in_full(issuers: Issuers, verifier: TokenVerifier) -> None:
    good = issuers.trusted.issue(tid="T1")
    await verifier.verify(good)
    header, payload, _signature = good.split(".")
    other = issuers.trusted.issue(sub="someone-else")
    variants = {
        "claims tampered": tamper_claims(good, sub="admin"),
        "tenant tampered": tamper_claims(good, tid="T2"),
        "exp pushed out": tamper_claims(good, exp=int(time.time()) + 86_400),
        "signature flipped": flip_signature(good),
        "signature of another token": f"{header}.{payload}.{other.rsplit('.', 1)[1]}",
        "header changed": with_header(good, kid="other"),
        "alg none": f"{with_header(good, alg='none').rsplit('.', 1)[0]}.",
        "re-signed by an attacker's key under the same kid": issuers.trusted.issue(
            claims=dict(issuers.trusted.claims(tid="T1")), key=new_key("RS256", kid=str(issuers.trusted.key().kid))
        ),
        "trailing space": good + " ",
        "one character less": good[:-1],
    }
    for name, token in variants.items():
        assert token != good, name
        await refused(verifier, token)
    assert verifier.remembered() == 1


async def test_a_remembered_token_is_refused_once_it_expires(issuers: Issuers) -> None:
    verifier = TokenVerifier([IssuerConfig(issuers.trusted.issuer, audiences=("dpp",))], leeway=0)
    try:
        exp = int(time.time()) + 2
        token = issuers.trusted.issue(exp=exp)
        await verifier.verify(token)
        assert verifier.remembered() == 1
        await verifier.verify(token)
        await asyncio.sleep(exp - time.time() + 0.05)  # past exp (no leeway)
        error = await refused(verifier, token)
        assert error.reason == "expired"
        assert verifier.remembered() == 0
    finally:
        await verifier.aclose()


async def test_a_token_within_the_leeway_past_its_exp_passes_but_is_not_remembered(
    issuers: Issuers, verifier: TokenVerifier
) -> None:
    token = issuers.trusted.issue(exp=int(time.time()) - 5)
    assert (await verifier.verify(token)).subject == "user-1"
    assert verifier.remembered() == 0


async def test_a_remembered_token_of_a_retired_key_is_refused_after_the_keys_change() -> None:
    with OidcIssuer(realm="retiring") as issuer:
        verifier = TokenVerifier(
            [IssuerConfig(issuer.issuer, audiences=("dpp",))], poll_interval=0.2, min_refresh_interval=3600.0
        )
        try:
            old_kid = str(issuer.key().kid)
            old = issuer.issue()
            await verifier.verify(old)
            await verifier.verify(old)
            issuer.rotate()
            issuer.retire(old_kid)
            fetched = issuer.state.jwks_fetches
            for _ in range(200):  # the poller runs every 0.2 s
                if issuer.state.jwks_fetches > fetched:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.1)
            error = await refused(verifier, old)
            assert "no key" in error.reason
            assert (await verifier.verify(issuer.issue())).subject == "user-1"
        finally:
            await verifier.aclose()


async def test_the_memory_is_bounded(issuers: Issuers) -> None:
    verifier = TokenVerifier([IssuerConfig(issuers.trusted.issuer, audiences=("dpp",))], max_verified=3)
    try:
        tokens = [issuers.trusted.issue(sub=f"user-{n}") for n in range(7)]
        for token in tokens:
            await verifier.verify(token)
            assert verifier.remembered() <= 3
        assert [(await verifier.verify(t)).subject for t in tokens] == [f"user-{n}" for n in range(7)]
    finally:
        await verifier.aclose()


async def test_the_memory_can_be_switched_off(issuers: Issuers) -> None:
    verifier = TokenVerifier([IssuerConfig(issuers.trusted.issuer, audiences=("dpp",))], max_verified=0)
    try:
        token = issuers.trusted.issue()
        assert (await verifier.verify(token)) is not (await verifier.verify(token))
        assert verifier.remembered() == 0
    finally:
        await verifier.aclose()
