"""Verifying access tokens of the trusted issuers against their JWKS."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import httpx
import orjson
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from tokenauth.config import IssuerConfig
from tokenauth.errors import InvalidToken
from tokenauth.jwks import IssuerKeys, KeySnapshot, VerificationKey

log = logging.getLogger("tokenauth")

# ``typ`` claim values of access tokens: ours ("access"), Keycloak's ("Bearer"), RFC 9068's.
ACCESS_TOKEN_TYPES = frozenset({"access", "bearer", "at+jwt"})
MAX_TOKEN_LENGTH = 16_384
# How many verified tokens a verifier remembers (see TokenVerifier.verify).
MAX_VERIFIED_TOKENS = 4096


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A token that passed every check, and what it says."""

    issuer: IssuerConfig
    subject: str
    claims: Mapping[str, Any] = field(repr=False)
    tenant_id: str | None
    scopes: frozenset[str]
    session_id: str | None
    expires_at: int
    # Roles an external issuer put into the token (``IssuerConfig.roles_claim``); empty for ours.
    roles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Remembered:
    """A token that passed every check, with the keys it was checked against."""

    verified: VerifiedToken
    keys: IssuerKeys
    snapshot: KeySnapshot


class TokenVerifier:
    """Verifies JWTs of the configured issuers; one per process, shared by all requests.

    Keys are fetched on first use, polled every ``poll_interval`` seconds once :meth:`verify`
    has run in an event loop, and refetched at once (at most every ``min_refresh_interval``
    seconds per issuer) when a token names an unknown ``kid``. Call :meth:`aclose` on shutdown.

    A token that passed is remembered (at most ``max_verified`` of them, keyed by the exact token
    text) until its ``exp``, and only while its issuer's keys are the very ones it was checked
    against: the same text presented again is answered without the signature check (an RS256
    verification costs ~0.15 ms, and a signed-in caller presents the same token on every request).
    Past its ``exp``, or once the issuer's keys were fetched again (polling, a refresh), the token is
    checked in full again, so the leeway, a retired key and every other rule apply as before; any
    other text (a tampered or forged token, another signature) is never found and is checked in full.
    """

    def __init__(
        self,
        issuers: Iterable[IssuerConfig],
        *,
        leeway: int = 30,
        poll_interval: float = 300.0,
        min_refresh_interval: float = 10.0,
        timeout: float = 5.0,
        max_verified: int = MAX_VERIFIED_TOKENS,
    ) -> None:
        self._issuers = {config.issuer.rstrip("/"): config for config in issuers}
        if not self._issuers:
            raise ValueError("a token verifier needs at least one trusted issuer")
        self.leeway = leeway
        self.poll_interval = poll_interval
        self.min_refresh_interval = min_refresh_interval
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None
        self._keys: dict[str, IssuerKeys] = {}
        self._poller: asyncio.Task[None] | None = None
        self._max_verified = max_verified
        self._verified: dict[str, _Remembered] = {}

    @property
    def issuers(self) -> tuple[IssuerConfig, ...]:
        """The trusted issuers."""
        return tuple(self._issuers.values())

    def jwks_fetches(self, issuer: str) -> int:
        """How many times this verifier fetched ``issuer``'s JWKS (for tests and metrics)."""
        keys = self._keys.get(issuer.rstrip("/"))
        return keys.fetches if keys is not None else 0

    def remembered(self) -> int:
        """How many verified tokens are remembered now (for tests)."""
        return len(self._verified)

    async def verify(self, token: str) -> VerifiedToken:
        """The verified token; ``InvalidToken`` (stable message, detail in ``.reason``) otherwise."""
        remembered = self._verified.get(token) if isinstance(token, str) else None
        if remembered is not None:
            if time.time() < remembered.verified.expires_at and remembered.keys.snapshot is remembered.snapshot:
                return remembered.verified
            del self._verified[token]
        header, unverified = _peek(token)
        config = self._issuers.get(str(unverified.get("iss", "")).rstrip("/"))
        if config is None:
            raise InvalidToken(f"untrusted issuer {unverified.get('iss')!r}")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in config.algorithms:
            raise InvalidToken(f"algorithm {alg!r} not allowed for {config.issuer}")
        keys, snapshot, key = await self._key_for(config, header, alg)
        try:
            claims = jwt.decode(token, key, algorithms=[alg]).claims
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidToken(f"signature check failed: {exc.__class__.__name__}") from None
        self._check_claims(config, claims)
        verified = VerifiedToken(
            issuer=config,
            subject=str(claims["sub"]),
            claims=MappingProxyType(claims),  # read-only: one object serves every request with this token
            tenant_id=config.tenant_of(claims),
            scopes=_scopes(claims.get("scope")),
            session_id=_optional_str(claims.get("sid")),
            expires_at=int(claims["exp"]),
            roles=config.roles_of(claims),
        )
        if time.time() < verified.expires_at and self._max_verified > 0:
            self._remember(token, _Remembered(verified, keys, snapshot))
        return verified

    def _remember(self, token: str, remembered: _Remembered) -> None:
        if len(self._verified) >= self._max_verified:
            now = time.time()
            for stale in [t for t, r in self._verified.items() if r.verified.expires_at <= now]:
                del self._verified[stale]
            while len(self._verified) >= self._max_verified:
                del self._verified[next(iter(self._verified))]  # the oldest
        self._verified[token] = remembered

    async def aclose(self) -> None:
        """Stop polling and close the HTTP client."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                await self._poller
            self._poller = None
        if self._client is not None:
            with contextlib.suppress(RuntimeError):
                await self._client.aclose()
            self._client = None
        self._keys.clear()
        self._verified.clear()

    async def _key_for(
        self, config: IssuerConfig, header: Mapping[str, Any], alg: str
    ) -> tuple[IssuerKeys, KeySnapshot, VerificationKey]:
        """The issuer's keys, the snapshot the key comes from, and the key to check ``alg`` with."""
        keys = self._issuer_keys(config)
        snapshot = await keys.current()
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidToken("kid is not a string")
        key = _select(snapshot, kid, alg)
        if key is None and kid is not None and kid not in snapshot.by_kid and await keys.refresh():
            snapshot = await keys.current()
            key = _select(snapshot, kid, alg)
        if key is None:
            raise InvalidToken(f"no key of {config.issuer} for kid={kid!r} alg={alg}")
        return keys, snapshot, key

    def _issuer_keys(self, config: IssuerConfig) -> IssuerKeys:
        name = config.issuer.rstrip("/")
        keys = self._keys.get(name)
        if keys is None:
            if self._client is None:
                self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)
            keys = IssuerKeys(config, self._client, min_refresh_interval=self.min_refresh_interval)
            self._keys[name] = keys
        if self._poller is None and self.poll_interval > 0:
            self._poller = asyncio.get_running_loop().create_task(self._poll(), name="tokenauth-jwks-poll")
        return keys

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            for keys in list(self._keys.values()):
                await keys.refresh(force=True)

    def _check_claims(self, config: IssuerConfig, claims: Mapping[str, Any]) -> None:
        now = time.time()
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise InvalidToken("no subject")
        exp = claims.get("exp")
        if not isinstance(exp, (int, float)) or isinstance(exp, bool):
            raise InvalidToken("no numeric exp")
        if now > exp + self.leeway:
            raise InvalidToken("expired")
        for name in ("nbf", "iat"):
            value = claims.get(name)
            if value is not None and (not _is_number(value) or value > now + self.leeway):
                raise InvalidToken(f"{name} in the future or not a number")
        audiences = claims.get("aud")
        listed = [audiences] if isinstance(audiences, str) else audiences if isinstance(audiences, list) else []
        given = {audience for audience in listed if isinstance(audience, str)}
        if not given.intersection(config.audiences):
            raise InvalidToken(f"audience {audiences!r} not accepted")
        typ = claims.get("typ")
        if typ is not None and str(typ).lower() not in ACCESS_TOKEN_TYPES:
            raise InvalidToken(f"not an access token (typ={typ!r})")


def _peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a compact JWS, unverified (only to pick the issuer and the key)."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("not a token or too long")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise InvalidToken(f"not a compact JWS ({len(parts)} segments)")
    try:
        header = orjson.loads(_b64decode(parts[0]))
        claims = orjson.loads(_b64decode(parts[1]))
    except (ValueError, binascii.Error):
        raise InvalidToken("undecodable header or claims") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise InvalidToken("header or claims not a JSON object")
    if "crit" in header or header.get("b64") is False:
        raise InvalidToken("critical or unencoded-payload header")
    return header, claims


def _b64decode(segment: str) -> bytes:
    if any(c in segment for c in "+/="):
        raise ValueError("not base64url without padding")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _select(snapshot: KeySnapshot, kid: str | None, alg: str) -> VerificationKey | None:
    """The key to check ``alg`` with: by ``kid``, or the issuer's only key when the token names none."""
    if kid is None:
        # Without a kid only an issuer with a single key is unambiguous.
        key = snapshot.keys[0] if len(snapshot.keys) == 1 else None
    else:
        key = snapshot.by_kid.get(kid)
    return key if key is not None and _fits(key, alg) else None


def _fits(key: VerificationKey, alg: str) -> bool:
    """True when ``key`` may verify ``alg`` (its type matches and its own ``alg``, if any, agrees)."""
    declared = key.get("alg")
    if declared is not None and declared != alg:
        return False
    if alg.startswith(("RS", "PS")):
        return isinstance(key, RSAKey)
    curves = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
    return isinstance(key, ECKey) and key.curve_name == curves.get(alg)


def _scopes(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list):
        return frozenset(str(item) for item in value if isinstance(item, str))
    return frozenset()


def _optional_str(value: Any) -> str | None:
    return str(value) if isinstance(value, (str, int)) and value != "" else None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
