"""The signing keys of one issuer: OIDC discovery, a JWKS cache, polling and rate-limited refresh."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

from tokenauth.config import IssuerConfig
from tokenauth.errors import IssuerUnavailable

log = logging.getLogger("tokenauth.jwks")

VerificationKey = RSAKey | ECKey


@dataclass(frozen=True, slots=True)
class KeySnapshot:
    """The keys of one fetch: by ``kid``, plus every key (for tokens without a ``kid``)."""

    by_kid: dict[str, VerificationKey]
    keys: tuple[VerificationKey, ...]
    fetched_at: float


class IssuerKeys:
    """Keeps the JWKS of one issuer, fetching it through ``client``.

    The first use fetches the keys (discovery first when no ``jwks_uri`` is configured).
    :meth:`refresh` fetches again unless the last fetch started less than
    ``min_refresh_interval`` seconds ago, so a flood of tokens with unknown ``kid``
    values costs at most one fetch per interval. Concurrent callers share one fetch.
    """

    def __init__(self, config: IssuerConfig, client: httpx.AsyncClient, *, min_refresh_interval: float) -> None:
        self.config = config
        self._client = client
        self._min_refresh_interval = min_refresh_interval
        self._jwks_uri = config.jwks_uri
        self._snapshot: KeySnapshot | None = None
        self._last_attempt = float("-inf")
        self._lock = asyncio.Lock()
        self.fetches = 0

    @property
    def snapshot(self) -> KeySnapshot | None:
        """The keys of the last successful fetch (None before the first); a new object after every fetch."""
        return self._snapshot

    async def current(self) -> KeySnapshot:
        """The cached keys, fetched first when there are none yet (``IssuerUnavailable`` if that fails)."""
        if self._snapshot is None:
            await self.refresh(force=True)
        if self._snapshot is None:
            raise IssuerUnavailable(f"no keys for issuer {self.config.issuer}")
        return self._snapshot

    async def refresh(self, *, force: bool = False) -> bool:
        """Fetch the JWKS again (rate limited unless ``force``); True when a fetch happened and succeeded."""
        started = time.monotonic()
        async with self._lock:
            if self._last_attempt >= started and self._snapshot is not None:
                return True  # someone else fetched while we waited for the lock
            if not force and time.monotonic() - self._last_attempt < self._min_refresh_interval:
                return False
            self._last_attempt = time.monotonic()
            try:
                self._snapshot = await self._fetch()
            except IssuerUnavailable as exc:
                log.warning("JWKS of %s not refreshed: %s", self.config.issuer, exc.reason)
                return False
            return True

    async def _fetch(self) -> KeySnapshot:
        jwks_uri = self._jwks_uri or await self._discover()
        self.fetches += 1
        document = await self._get_json(jwks_uri)
        keys: list[VerificationKey] = []
        for raw in document.get("keys", []) if isinstance(document.get("keys"), list) else []:
            key = _import_key(raw)
            if key is not None:
                keys.append(key)
        by_kid = {str(key.kid): key for key in keys if key.kid}
        log.info("JWKS of %s: %d keys (%s)", self.config.issuer, len(keys), ", ".join(sorted(by_kid)))
        return KeySnapshot(by_kid=by_kid, keys=tuple(keys), fetched_at=time.time())

    async def _discover(self) -> str:
        document = await self._get_json(self.config.discovery_url)
        if document.get("issuer", "").rstrip("/") != self.config.issuer.rstrip("/"):
            raise IssuerUnavailable(
                f"discovery document of {self.config.issuer} names issuer {document.get('issuer')!r}"
            )
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri:
            raise IssuerUnavailable(f"discovery document of {self.config.issuer} has no jwks_uri")
        self._jwks_uri = jwks_uri
        return jwks_uri

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._client.get(url, headers={"accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise IssuerUnavailable(f"GET {url} failed: {exc.__class__.__name__}: {exc}") from None
        if not isinstance(document, dict):
            raise IssuerUnavailable(f"GET {url} did not answer a JSON object")
        return document


def _import_key(raw: Any) -> VerificationKey | None:
    """A public verification key from one JWK; None for keys we never verify with (oct, enc, private)."""
    if not isinstance(raw, dict) or raw.get("use", "sig") != "sig" or raw.get("kty") not in ("RSA", "EC"):
        return None
    public = {name: value for name, value in raw.items() if name not in ("d", "p", "q", "dp", "dq", "qi")}
    try:
        key = KeySet.import_key_set({"keys": [public]}).keys[0]
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring a JWK that does not import (%s): kid=%s", exc.__class__.__name__, raw.get("kid"))
        return None
    return key if isinstance(key, (RSAKey, ECKey)) else None
