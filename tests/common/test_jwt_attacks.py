"""The JWT attack corpus against tokenauth's verifier: every forged, broken or misdirected token is refused
with the same message, and the key cache follows rotations without letting unknown kids storm the issuer."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import serialization

from tests.support.oidc_issuer import OidcIssuer, new_key
from tokenauth import INVALID_TOKEN_MESSAGE, InvalidToken, IssuerConfig, IssuerUnavailable, TokenVerifier


def b64(data: bytes | dict) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def forge(header: dict, claims: dict, signature: bytes = b"") -> str:
    """A compact JWS with any header, claims and signature bytes."""
    return f"{b64(header)}.{b64(claims)}.{b64(signature) if signature else ''}"


def hs256(header: dict, claims: dict, secret: bytes) -> str:
    signing_input = f"{b64(header)}.{b64(claims)}".encode()
    return f"{signing_input.decode()}.{b64(hmac.new(secret, signing_input, hashlib.sha256).digest())}"


def public_pem(issuer: OidcIssuer) -> bytes:
    key = issuer.key("RS256").get_op_key("verify")
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def tamper_claims(token: str, **changes: object) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    return f"{header}.{b64(claims)}.{signature}"


def with_header(token: str, **changes: object) -> str:
    """``token`` with its header changed (signature left as it was)."""
    header, payload, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    decoded.update(changes)
    return f"{b64(decoded)}.{payload}.{signature}"


def flip_signature(token: str) -> str:
    header, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[10] ^= 0x01
    return f"{header}.{payload}.{b64(bytes(raw))}"


@dataclass(frozen=True)
class Issuers:
    trusted: OidcIssuer
    other: OidcIssuer  # trusted too, with its own keys


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


def _cases() -> dict[str, Callable[[Issuers], str]]:
    now = int(time.time())

    def t(i: Issuers) -> OidcIssuer:
        return i.trusted

    return {
        "alg none, no signature": lambda i: forge({"alg": "none", "typ": "JWT"}, t(i).claims()) + "",
        "alg none, with a signature": lambda i: forge({"alg": "none"}, t(i).claims(), b"sig"),
        "alg None (case)": lambda i: forge({"alg": "None", "kid": t(i).key().kid}, t(i).claims(), b"x"),
        "no alg": lambda i: forge({"kid": t(i).key().kid}, t(i).claims(), b"x"),
        "HS256 with the RSA public key (PEM) as secret": lambda i: hs256(
            {"alg": "HS256", "kid": t(i).key().kid}, t(i).claims(), public_pem(t(i))
        ),
        "HS256 without kid, PEM secret": lambda i: hs256({"alg": "HS256"}, t(i).claims(), public_pem(t(i))),
        "HS256 with the JWK modulus as secret": lambda i: hs256(
            {"alg": "HS256", "kid": t(i).key().kid},
            t(i).claims(),
            str(t(i).key().as_dict(private=False)["n"]).encode(),
        ),
        "RS256 signed by a key not in the JWKS, real kid": lambda i: t(i).issue(
            key=new_key("RS256", kid=str(t(i).key().kid))
        ),
        "RS256 signed by a key not in the JWKS, unknown kid": lambda i: t(i).issue(key=new_key("RS256")),
        "attacker key embedded in the jwk header": lambda i: _embedded_jwk(t(i)),
        "jku pointing elsewhere, unknown kid": lambda i: t(i).issue(
            key=new_key("RS256"), header={"jku": "http://127.0.0.1:1/jwks.json"}
        ),
        "ES256 header on the RSA kid": lambda i: t(i).issue(alg="ES256", kid=str(t(i).key("RS256").kid)),
        "RS256 header on the EC kid": lambda i: _rs_on_ec_kid(t(i)),
        "algorithm not configured (RS512)": lambda i: t(i).issue(alg="RS512", key=_rs512(t(i))),
        "missing kid while the JWKS has several keys": lambda i: t(i).issue(kid=False),
        "kid not a string": lambda i: with_header(t(i).issue(), kid=["a"]),
        "other trusted issuer's key under this issuer's iss": lambda i: i.other.issue(iss=t(i).issuer),
        "untrusted issuer": lambda i: t(i).issue(iss="https://evil.example/realms/trusted"),
        "missing iss": lambda i: t(i).issue(iss=None),
        "wrong audience": lambda i: t(i).issue(aud="account"),
        "audience list without ours": lambda i: t(i).issue(aud=["account", "other"]),
        "missing audience": lambda i: t(i).issue(aud=None),
        "audience of unhashables": lambda i: t(i).issue(aud=[{"a": 1}]),
        "expired beyond leeway": lambda i: t(i).issue(exp=now - 31, iat=now - 400, nbf=now - 400),
        "exp missing": lambda i: t(i).issue(exp=None),
        "exp not a number": lambda i: t(i).issue(exp=str(now + 300)),
        "exp a boolean": lambda i: t(i).issue(exp=True),
        "not yet valid beyond leeway": lambda i: t(i).issue(nbf=int(time.time()) + 120),  # when the case runs
        "issued in the future": lambda i: t(i).issue(iat=now + 3600),
        "missing subject": lambda i: t(i).issue(sub=None),
        "refresh token used as access token": lambda i: t(i).issue(typ="Refresh"),
        "ID token used as access token": lambda i: t(i).issue(typ="ID"),
        "tampered claims (sub)": lambda i: tamper_claims(t(i).issue(), sub="admin"),
        "tampered claims (tid)": lambda i: tamper_claims(t(i).issue(tid="T1"), tid="T2"),
        "tampered signature": lambda i: flip_signature(t(i).issue()),
        "signature of another token": lambda i: _swap_signature(t(i)),
        "crit header": lambda i: with_header(t(i).issue(), crit=["exp"], exp=1),
        "empty string": lambda i: "",
        "garbage": lambda i: "not a token at all",
        "two segments": lambda i: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0",
        "JWE-shaped (five segments)": lambda i: "a.b.c.d.e",
        "header not JSON": lambda i: f"{b64(b'{{{')}.{b64(t(i).claims())}.{b64(b'x')}",
        "claims a JSON array": lambda i: f"{b64({'alg': 'RS256'})}.{b64(b'[1,2]')}.{b64(b'x')}",
        "padding and non-url base64": lambda i: t(i).issue().replace("-", "+") + "==",
        "oversized token": lambda i: t(i).issue(blob="x" * 20_000),
    }


def _embedded_jwk(issuer: OidcIssuer) -> str:
    attacker = new_key("RS256")
    return issuer.issue(key=attacker, header={"jwk": attacker.as_dict(private=False)})


def _rs_on_ec_kid(issuer: OidcIssuer) -> str:
    header = {"alg": "RS256", "kid": issuer.key("ES256").kid}
    good = issuer.issue()
    return f"{b64(header)}.{good.split('.', 1)[1]}"


def _rs512(issuer: OidcIssuer):
    key = issuer.key("RS256")
    data = {name: value for name, value in key.as_dict(private=True).items() if name != "alg"}
    return type(key).import_key(data)  # same key and kid, without the alg that pins it to RS256


def _swap_signature(issuer: OidcIssuer) -> str:
    first, second = issuer.issue(sub="a"), issuer.issue(sub="b")
    return first.rsplit(".", 1)[0] + "." + second.rsplit(".", 1)[1]


CASES = _cases()


@pytest.mark.parametrize("case", list(CASES))
async def test_attack_is_refused_with_the_stable_message(case: str, issuers: Issuers, verifier: TokenVerifier) -> None:
    token = CASES[case](issuers)
    with pytest.raises(InvalidToken) as refused:
        await verifier.verify(token)
    assert str(refused.value) == INVALID_TOKEN_MESSAGE
    assert refused.value.args == (INVALID_TOKEN_MESSAGE,)
    assert refused.value.reason  # the detail exists, for the log only


async def test_valid_tokens_pass(issuers: Issuers, verifier: TokenVerifier) -> None:
    now = int(time.time())
    rs = await verifier.verify(issuers.trusted.issue(tid="T1", scope="catalog:write openid", sid="S1"))
    assert (rs.subject, rs.tenant_id, rs.session_id) == ("user-1", "T1", "S1")
    assert rs.scopes == {"catalog:write", "openid"}
    assert rs.issuer.issuer == issuers.trusted.issuer
    es = await verifier.verify(issuers.trusted.issue(alg="ES256", scope=["passport:restricted"]))
    assert es.scopes == {"passport:restricted"}
    other = await verifier.verify(issuers.other.issue(aud=["account", "dpp"]))
    assert other.issuer.issuer == issuers.other.issuer
    # Within the leeway: just expired and just not yet valid still pass.
    await verifier.verify(issuers.trusted.issue(exp=now - 20, nbf=now + 20, iat=now + 20))


async def test_kid_less_token_passes_when_the_issuer_has_one_key() -> None:
    with OidcIssuer(realm="single", ec=False) as single:
        verifier = TokenVerifier([IssuerConfig(single.issuer, audiences=("dpp",))])
        try:
            assert (await verifier.verify(single.issue(kid=False))).subject == "user-1"
        finally:
            await verifier.aclose()


async def test_rotation_is_picked_up_through_an_unknown_kid(issuers: Issuers) -> None:
    with OidcIssuer(realm="rotating") as issuer:
        verifier = TokenVerifier([IssuerConfig(issuer.issuer, audiences=("dpp",))], min_refresh_interval=0.0)
        try:
            old = issuer.issue()
            await verifier.verify(old)
            assert verifier.jwks_fetches(issuer.issuer) == 1
            issuer.rotate()
            await verifier.verify(issuer.issue())  # new kid: one refetch
            assert verifier.jwks_fetches(issuer.issuer) == 2
            await verifier.verify(old)  # the old key is still published
            assert verifier.jwks_fetches(issuer.issuer) == 2
        finally:
            await verifier.aclose()


async def test_unknown_kid_storm_costs_one_fetch_per_interval() -> None:
    with OidcIssuer(realm="storm") as issuer:
        verifier = TokenVerifier([IssuerConfig(issuer.issuer, audiences=("dpp",))], min_refresh_interval=60.0)
        try:
            await verifier.verify(issuer.issue())
            forged = [issuer.issue(key=new_key("RS256")) for _ in range(5)] * 40
            results = await asyncio.gather(*(verifier.verify(t) for t in forged), return_exceptions=True)
            assert all(isinstance(r, InvalidToken) for r in results)
            assert issuer.state.jwks_fetches <= 2  # the first fetch plus at most one refresh
            # A rotation inside the interval is not seen until it ends (the price of the rate limit) ...
            issuer.rotate()
            with pytest.raises(InvalidToken):
                await verifier.verify(issuer.issue())
            assert issuer.state.jwks_fetches <= 2
        finally:
            await verifier.aclose()


async def test_polling_picks_up_rotation_and_retirement() -> None:
    with OidcIssuer(realm="polled") as issuer:
        verifier = TokenVerifier(
            [IssuerConfig(issuer.issuer, audiences=("dpp",))], poll_interval=0.2, min_refresh_interval=3600.0
        )
        try:
            old_kid = str(issuer.key().kid)
            old = issuer.issue()
            await verifier.verify(old)
            issuer.rotate()
            issuer.retire(old_kid)
            fetched = issuer.state.jwks_fetches
            for _ in range(200):  # the poller runs every 0.2 s
                if issuer.state.jwks_fetches > fetched:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.1)
            await verifier.verify(issuer.issue())  # new key, learnt by polling (the refresh is rate limited)
            with pytest.raises(InvalidToken):
                await verifier.verify(old)  # retired key
        finally:
            await verifier.aclose()


async def test_unreachable_issuer_is_unavailable_not_invalid() -> None:
    issuer = OidcIssuer(realm="down")  # never started: nothing listens
    verifier = TokenVerifier([IssuerConfig(issuer.issuer, audiences=("dpp",))], min_refresh_interval=0.0)
    try:
        with pytest.raises(IssuerUnavailable):
            await verifier.verify(issuer.issue())
    finally:
        await verifier.aclose()
        issuer.sock.close()


async def test_keys_survive_an_issuer_outage() -> None:
    with OidcIssuer(realm="flaky") as issuer:
        verifier = TokenVerifier([IssuerConfig(issuer.issuer, audiences=("dpp",))], min_refresh_interval=0.0)
        try:
            await verifier.verify(issuer.issue())
            issuer.state.available = False
            await verifier.verify(issuer.issue())  # cached keys
            with pytest.raises(InvalidToken):
                await verifier.verify(issuer.issue(key=new_key("RS256")))  # refresh fails: still refused
        finally:
            await verifier.aclose()


async def test_discovery_naming_another_issuer_is_refused() -> None:
    with OidcIssuer(realm="liar") as issuer:
        config = IssuerConfig(issuer.issuer + "-not", audiences=("dpp",), jwks_uri=None)
        verifier = TokenVerifier([config])
        try:
            token = issuer.issue(iss=config.issuer)
            with pytest.raises(IssuerUnavailable):
                await verifier.verify(token)  # the discovery URL 404s: no keys, never a silent accept
        finally:
            await verifier.aclose()


@pytest.mark.parametrize("algorithms", [("HS256",), ("none",), ("RS256", "HS512"), ()])
def test_symmetric_or_no_algorithms_cannot_be_configured(algorithms: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="algorithms must be among"):
        IssuerConfig("https://issuer.example", audiences=("dpp",), algorithms=algorithms)
