"""The issuer's key file: created private on first use, rotated by ``dpp-keys``, old keys kept then dropped."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

from joserfc import jwt

from subgraphs.identity.keys import KeyRing, KeyStore, StoredKey


def test_key_file_is_created_private_with_a_thumbprint_kid(tmp_path: Path) -> None:
    store = KeyStore(tmp_path, retain_seconds=360)
    current = store.current()
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert current.kid == current.key.thumbprint()
    jwks = store.jwks()
    assert [k["kid"] for k in jwks["keys"]] == [current.kid]
    assert set(jwks["keys"][0]) == {"kty", "n", "e", "kid", "use", "alg"}  # no private parameter
    # A second store on the same folder (another process) reads the same key.
    assert KeyStore(tmp_path, retain_seconds=360).current().kid == current.kid


def test_rotation_by_another_process_is_picked_up_and_old_key_kept(tmp_path: Path) -> None:
    store = KeyStore(tmp_path, retain_seconds=360)
    old = store.current()
    token = jwt.encode({"alg": "RS256", "kid": old.kid}, {"sub": "x"}, old.key)
    env = {**os.environ, "DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "subgraphs.identity.keys", "rotate"], env=env, capture_output=True, text=True, check=True
    )
    served = [k["kid"] for k in json.loads(done.stdout)["keys"]]
    new = store.current()  # the file changed: the signer picks the new key up
    assert new.kid != old.kid and served == [new.kid, old.kid]
    assert jwt.decode(token, store.key_set(), algorithms=["RS256"]).claims == {"sub": "x"}


def test_retired_keys_leave_the_jwks_once_their_tokens_have_expired() -> None:
    now = int(time.time())
    first = KeyRing((StoredKey.generate(now - 1000),))
    second = first.rotated(now - 500, retain_seconds=360)
    assert [k.kid for k in second.served(now - 400, 360)] == [second.current.kid, first.current.kid]
    assert [k.kid for k in second.served(now, 360)] == [second.current.kid]
    third = second.rotated(now, retain_seconds=360)
    assert len(third.keys) == 2  # the key retired 500 s ago is dropped from the file too
