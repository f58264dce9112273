"""Trusted documents: an Apollo persisted-query manifest, loaded from a file and hot-reloaded.

Format (``apollo-persisted-query-manifest`` version 1)::

    {"format": "apollo-persisted-query-manifest", "version": 1,
     "operations": [{"id": "...", "name": "Products", "type": "query", "body": "query Products { ... }"}]}

A manifest that cannot be read or does not follow the format is refused, logged, and the
previous one keeps serving; at start-up a bad manifest stops the gateway.
"""

from __future__ import annotations

import logging
import os
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from graphql import GraphQLError, parse, print_ast
from graphql.language import Lexer, Source, TokenKind

logger = logging.getLogger("gateway.persisted")

MANIFEST_FORMAT = "apollo-persisted-query-manifest"
# Free-text bodies remembered per manifest (found or not), each at most this long.
_SEEN_ENTRIES = 256
_SEEN_MAX_LENGTH = 16_384


class ManifestError(ValueError):
    """A manifest file the gateway refuses; the message says why."""


def normalise(body: str, max_tokens: int | None = None) -> str | None:
    """``body`` printed from its parse (whitespace, commas and comments do not count), None if unparsable
    or longer than ``max_tokens`` tokens."""
    try:
        return print_ast(parse(body, no_location=True, max_tokens=max_tokens))
    except GraphQLError:
        return None


def _tokens(body: str) -> int:
    lexer = Lexer(Source(body))
    count = 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


@dataclass(frozen=True, slots=True)
class Manifest:
    """Operations by id, the set of their normalised bodies, and their largest token count.

    A free-text body is parsed with a limit of ``max_tokens`` (a longer document cannot print to a
    manifest body), and the answer for recent bodies is remembered (``seen``, bounded).
    """

    by_id: dict[str, str]
    bodies: frozenset[str]
    normalised: frozenset[str]
    max_tokens: int = 0
    seen: OrderedDict[str, bool] = field(default_factory=OrderedDict)

    @classmethod
    def parse(cls, raw: bytes) -> Manifest:
        """Read a manifest; raises :class:`ManifestError`."""
        try:
            decoded: Any = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ManifestError(f"not JSON: {exc}") from None
        if not isinstance(decoded, dict) or decoded.get("format") != MANIFEST_FORMAT:
            raise ManifestError(f"format must be {MANIFEST_FORMAT!r}")
        if decoded.get("version") != 1:
            raise ManifestError("version must be 1")
        operations = decoded.get("operations")
        if not isinstance(operations, list):
            raise ManifestError("operations must be a list")
        by_id: dict[str, str] = {}
        normalised: set[str] = set()
        for index, entry in enumerate(operations):
            if not isinstance(entry, dict):
                raise ManifestError(f"operations[{index}] must be an object")
            op_id, body = entry.get("id"), entry.get("body")
            if not isinstance(op_id, str) or not op_id or not isinstance(body, str):
                raise ManifestError(f"operations[{index}] needs a string id and body")
            if entry.get("type") not in ("query", "mutation", "subscription"):
                raise ManifestError(f"operations[{index}].type must be query, mutation or subscription")
            printed = normalise(body)
            if printed is None:
                raise ManifestError(f"operations[{index}] ({op_id}): body is not a GraphQL document")
            if by_id.get(op_id, body) != body:
                raise ManifestError(f"operations[{index}]: id {op_id!r} appears twice with different bodies")
            by_id[op_id] = body
            normalised.add(printed)
        return cls(
            by_id=by_id,
            bodies=frozenset(by_id.values()),
            normalised=frozenset(normalised),
            max_tokens=max((_tokens(body) for body in by_id.values()), default=0),
        )

    def has_body(self, body: str) -> bool:
        """Whether ``body`` is one of the manifest's operations, up to printing."""
        if body in self.bodies:
            return True
        seen = self.seen.get(body)
        if seen is not None:
            self.seen.move_to_end(body)
            return seen
        printed = normalise(body, self.max_tokens + 1)
        found = printed is not None and printed in self.normalised
        if len(body) <= _SEEN_MAX_LENGTH:
            self.seen[body] = found
            if len(self.seen) > _SEEN_ENTRIES:
                self.seen.popitem(last=False)
        return found


class ManifestSource:
    """The manifest of one file, re-read when its modification time or size changes.

    Checked lazily: the request that finds ``poll_interval`` seconds passed since the last check
    stats the file (one ``os.stat``), and only a changed file is read and parsed.
    """

    def __init__(self, path: Path, poll_interval: float) -> None:
        self._path = path
        self._poll = poll_interval
        self._signature = self._stat()
        try:
            self._manifest = Manifest.parse(path.read_bytes())
        except OSError as exc:
            raise ManifestError(f"{path}: {exc.strerror or exc}") from None
        except ManifestError as exc:
            raise ManifestError(f"{path}: {exc}") from None
        self._checked = time.monotonic()
        logger.info("trusted documents: %d operations from %s", len(self._manifest.by_id), path)

    def _stat(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self._path)
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    @property
    def manifest(self) -> Manifest:
        """The current manifest (reloaded first when the file changed)."""
        if self._poll > 0 and time.monotonic() - self._checked >= self._poll:
            self._checked = time.monotonic()
            signature = self._stat()
            if signature is not None and signature != self._signature:
                self._signature = signature
                self._reload()
        return self._manifest

    def _reload(self) -> None:
        try:
            manifest = Manifest.parse(self._path.read_bytes())
        except (OSError, ManifestError) as exc:
            logger.error("trusted documents: %s refused, keeping the previous manifest: %s", self._path, exc)
            return
        self._manifest = manifest
        logger.info("trusted documents: reloaded %d operations from %s", len(manifest.by_id), self._path)
