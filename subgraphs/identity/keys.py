"""The signing keys of the development OIDC issuer, kept in ``$DATA_DIR/identity-keys.json``.

The file (mode 0600) holds RSA-2048 private keys as JWKs, each with its ``kid``
(the RFC 7638 thumbprint), when it was created and, once superseded, when it was
retired. Exactly one key is current: it signs new tokens. A retired key's public
half stays in the JWKS for ``retain_seconds`` (the access-token lifetime plus a
leeway) so tokens it signed still verify, then it is dropped.

Several processes share the file (identity replicas, uvicorn workers, the
``dpp-keys`` command): the first start creates it atomically (whoever links it
first wins, the others read it), a rotation rewrites it under an exclusive
``flock`` and an atomic rename, and every reader notices a changed file by its
``stat`` and loads it again before signing.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from joserfc.jwk import KeySet, RSAKey

KEY_FILE = "identity-keys.json"
ALGORITHM = "RS256"
KEY_SIZE = 2048
# Added to the access-token lifetime: how long after its rotation a key may still have to verify a token.
RETENTION_LEEWAY = 60


@dataclass(frozen=True, slots=True)
class StoredKey:
    """One signing key: the private JWK, its kid, and when it was created and retired."""

    kid: str
    key: RSAKey
    created_at: int
    retired_at: int | None = None

    def public_jwk(self) -> dict[str, Any]:
        """The public JWK as served in the JWKS."""
        return {**self.key.as_dict(private=False), "kid": self.kid, "use": "sig", "alg": ALGORITHM}

    def to_json(self) -> dict[str, Any]:
        """The stored form (private key included)."""
        return {
            "kid": self.kid,
            "jwk": self.key.as_dict(private=True),
            "created_at": self.created_at,
            "retired_at": self.retired_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoredKey:
        """Read the stored form back."""
        key = RSAKey.import_key(data["jwk"])
        kid = str(data["kid"])
        if key.thumbprint() != kid:
            raise ValueError(f"key file corrupt: kid {kid!r} is not the thumbprint of its key")
        retired = data.get("retired_at")
        return cls(
            kid=kid, key=key, created_at=int(data["created_at"]), retired_at=None if retired is None else int(retired)
        )

    @classmethod
    def generate(cls, now: int) -> StoredKey:
        """A fresh RSA key; its kid is its RFC 7638 thumbprint."""
        key = RSAKey.generate_key(KEY_SIZE, auto_kid=False, private=True)
        return cls(kid=key.thumbprint(), key=key, created_at=now)


@dataclass(frozen=True, slots=True)
class KeyRing:
    """The keys of the issuer: the current one first, then retired ones still served."""

    keys: tuple[StoredKey, ...]

    @property
    def current(self) -> StoredKey:
        """The key that signs new tokens."""
        return self.keys[0]

    def served(self, now: int, retain_seconds: int) -> tuple[StoredKey, ...]:
        """The keys whose public halves belong in the JWKS at ``now``."""
        return tuple(k for k in self.keys if k.retired_at is None or k.retired_at + retain_seconds > now)

    def jwks(self, now: int, retain_seconds: int) -> dict[str, Any]:
        """The public JWKS document (no private parameter ever)."""
        return {"keys": [k.public_jwk() for k in self.served(now, retain_seconds)]}

    def key_set(self, now: int, retain_seconds: int) -> KeySet:
        """The served keys as a joserfc key set (public halves), for in-process verification."""
        return KeySet.import_key_set(self.jwks(now, retain_seconds))  # type: ignore[arg-type]

    def rotated(self, now: int, retain_seconds: int) -> KeyRing:
        """A new current key; the old current one retires now; expired ones are dropped."""
        fresh = StoredKey.generate(now)
        old = tuple(k if k.retired_at is not None else replace(k, retired_at=now) for k in self.keys)
        return KeyRing((fresh, *KeyRing(old).served(now, retain_seconds)))

    def to_json(self) -> dict[str, Any]:
        """The stored form of the whole ring."""
        return {"keys": [k.to_json() for k in self.keys]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyRing:
        """Read a stored ring; the current (unretired) key comes first."""
        keys = sorted((StoredKey.from_json(item) for item in data["keys"]), key=lambda k: k.retired_at is not None)
        if not keys or keys[0].retired_at is not None:
            raise ValueError("key file corrupt: no current key")
        return cls(tuple(keys))


class KeyStore:
    """The key file of one data folder; reloads it whenever another process has rewritten it."""

    def __init__(self, data_dir: Path, *, retain_seconds: int) -> None:
        self.path = Path(data_dir) / KEY_FILE
        self.retain_seconds = retain_seconds
        self._ring: KeyRing | None = None
        self._stamp: tuple[int, int, int] | None = None

    def ring(self) -> KeyRing:
        """The keys as the file holds them now (created on first use)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._create()
            stat = self.path.stat()
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if self._ring is None or stamp != self._stamp:
            self._ring = KeyRing.from_json(json.loads(self.path.read_text()))
            self._stamp = stamp
        return self._ring

    def current(self) -> StoredKey:
        """The key that signs new tokens."""
        return self.ring().current

    def jwks(self) -> dict[str, Any]:
        """The public JWKS now."""
        return self.ring().jwks(int(time.time()), self.retain_seconds)

    def key_set(self) -> KeySet:
        """The public keys served now, for verifying our own tokens in-process."""
        return self.ring().key_set(int(time.time()), self.retain_seconds)

    def rotate(self) -> KeyRing:
        """Add a new current key (the old one stays in the JWKS until its tokens expire)."""
        self.ring()
        with self._locked():
            ring = KeyRing.from_json(json.loads(self.path.read_text()))
            rotated = ring.rotated(int(time.time()), self.retain_seconds)
            self._write(rotated, exclusive=False)
        return self.ring()

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write(KeyRing((StoredKey.generate(int(time.time())),)), exclusive=True)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        lock_path = self.path.with_suffix(".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _write(self, ring: KeyRing, *, exclusive: bool) -> None:
        """Write ``ring`` to a private temporary file, then put it in place atomically.

        ``exclusive``: only if no file exists yet (first start; a concurrent creator wins).
        """
        fd, tmp = tempfile.mkstemp(prefix=".identity-keys-", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(ring.to_json(), handle)
                handle.flush()
                os.fsync(handle.fileno())
            if exclusive:
                with contextlib.suppress(FileExistsError):
                    os.link(tmp, self.path)
            else:
                os.replace(tmp, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def key_store_for(settings: Any) -> KeyStore:
    """The key store of a subgraph settings object (data folder, access-token lifetime)."""
    return KeyStore(Path(settings.data_dir), retain_seconds=int(settings.access_token_ttl) + RETENTION_LEEWAY)


def main(argv: list[str] | None = None) -> int:
    """``dpp-keys rotate`` / ``dpp-keys show``: manage the development issuer's signing keys."""
    from subgraphs.common.settings import Settings

    parser = argparse.ArgumentParser(prog="dpp-keys", description="Signing keys of identity's development issuer")
    parser.add_argument(
        "command", choices=["rotate", "show"], help="rotate: add a new current key; show: print the JWKS"
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="default: $DATA_DIR (var)")
    args = parser.parse_args(argv)
    settings = Settings.from_env("identity")
    if args.data_dir is not None:
        settings = replace(settings, data_dir=args.data_dir)
    store = key_store_for(settings)
    if args.command == "rotate":
        ring = store.rotate()
        print(f"new current key {ring.current.kid} in {store.path}", file=sys.stderr)
    print(json.dumps(store.jwks(), indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
