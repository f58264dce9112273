"""Turning what a client sent into the operation to run: APQ look-up and registration, trusted documents.

Codes follow Apollo (Server and Router) so their clients react as they expect:
``PERSISTED_QUERY_NOT_FOUND`` (message ``PersistedQueryNotFound``: the client sends the query again),
``PERSISTED_QUERY_NOT_SUPPORTED``, ``PERSISTED_QUERY_HASH_MISMATCH``, and for trusted documents
``PERSISTED_QUERY_NOT_IN_LIST`` (an id the manifest does not hold), ``PERSISTED_QUERY_ID_REQUIRED``
(free text in ``safelist_by_id``) and ``QUERY_NOT_IN_SAFELIST`` (a body the manifest does not hold).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.contracts import GraphQLRequest
from gateway.persisted.config import PersistedConfig
from gateway.persisted.manifest import Manifest, ManifestSource
from gateway.persisted.store import MemoryStore, QueryStore, RedisStore

logger = logging.getLogger("gateway.persisted")

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"
ID_REQUIRED = "PERSISTED_QUERY_ID_REQUIRED"
NOT_IN_SAFELIST = "QUERY_NOT_IN_SAFELIST"


class PersistedProblem(Exception):
    """The operation cannot be resolved or is not allowed: a GraphQL error with ``code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Incoming:
    """One operation as decoded from the HTTP request, before persisted ids are resolved."""

    query: str | None
    variables: Mapping[str, Any] | None = None
    operation_name: str | None = None
    extensions: Mapping[str, Any] | None = None
    document_id: str | None = None


@dataclass(frozen=True, slots=True)
class Resolved:
    """The operation to run, and the APQ id to register it under once it ran (None: nothing to register)."""

    request: GraphQLRequest
    register: str | None = None


def sha256_hex(query: str) -> str:
    """The APQ id of a query text."""
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


class PersistedOperations:
    """APQ store and trusted-document manifest of one gateway app."""

    def __init__(self, config: PersistedConfig) -> None:
        self.config = config
        self._store: QueryStore | None = None
        if config.apq_enabled:
            self._store = (
                RedisStore(config.redis_url, config.apq_ttl)
                if config.redis_url
                else MemoryStore(config.apq_max_entries, config.apq_max_bytes)
            )
        self._source: ManifestSource | None = None
        if config.trusted_mode != "off" and config.trusted_manifest is not None:
            self._source = ManifestSource(config.trusted_manifest, config.trusted_poll_interval)

    @property
    def store(self) -> QueryStore | None:
        """The APQ store (None when APQ is off)."""
        return self._store

    async def aclose(self) -> None:
        """Release the store's connections."""
        if self._store is not None:
            await self._store.aclose()

    async def register(self, resolved: Resolved) -> None:
        """Store a registered query; the edge calls this once the operation ran (parsed and validated),
        so documents that never run take no room in the store."""
        if resolved.register is not None and self._store is not None:
            await self._store.put(resolved.register, resolved.request.query)

    async def resolve(self, incoming: Incoming) -> Resolved:
        """The operation to run; raises :class:`PersistedProblem`."""
        apq_hash = _apq_hash(incoming.extensions)
        op_id = incoming.document_id or apq_hash
        manifest = self._source.manifest if self._source is not None else None
        query = incoming.query
        if query is None:
            if op_id is None:
                raise PersistedProblem("BAD_REQUEST", "Missing query")
            query = await self._by_id(op_id, apq_hash, manifest)
        else:
            if apq_hash is not None:
                if self._store is None:
                    raise PersistedProblem(NOT_SUPPORTED, "PersistedQueryNotSupported")
                if sha256_hex(query) != apq_hash:
                    raise PersistedProblem(HASH_MISMATCH, "provided sha does not match query")
            if not (manifest is not None and op_id is not None and manifest.by_id.get(op_id) == query):
                self._check_free_text(query, incoming.operation_name, manifest)
        request = GraphQLRequest(
            query=query,
            variables=incoming.variables,
            operation_name=incoming.operation_name,
            extensions=incoming.extensions,
        )
        return Resolved(request, apq_hash if incoming.query is not None else None)

    async def _by_id(self, op_id: str, apq_hash: str | None, manifest: Manifest | None) -> str:
        if manifest is not None:
            body = manifest.by_id.get(op_id)
            if body is not None:
                return body  # a trusted document
            if self.config.trusted_mode == "safelist_by_id" and not self.config.trusted_bypass:
                raise _not_in_list(op_id)
        if apq_hash is None:
            raise _not_in_list(op_id)
        if self._store is None:
            raise PersistedProblem(NOT_SUPPORTED, "PersistedQueryNotSupported")
        query = await self._store.get(apq_hash)
        if query is None:
            raise PersistedProblem(NOT_FOUND, "PersistedQueryNotFound")
        self._check_free_text(query, None, manifest)
        return query

    def _check_free_text(self, query: str, operation_name: str | None, manifest: Manifest | None) -> None:
        """Trusted-document rules for a body that did not come from the manifest by id."""
        mode = self.config.trusted_mode
        if manifest is None or mode == "off" or (mode != "safelist_by_id" and manifest.has_body(query)):
            return  # safelist_by_id: free text is refused even when the manifest holds it
        name = operation_name or "-"
        if mode == "log_unknown":
            logger.warning(
                "trusted documents: operation %s (sha256 %s) is not in the manifest", name, sha256_hex(query)
            )
            return
        if mode == "safelist_by_id":
            problem = PersistedProblem(
                ID_REQUIRED,
                "This endpoint does not allow freeform GraphQL requests; operations must be sent by ID "
                "in the persisted queries GraphQL extension.",
            )
        else:
            problem = PersistedProblem(
                NOT_IN_SAFELIST, "The operation body was not found in the persisted query safelist"
            )
        if self.config.trusted_bypass:
            logger.warning("trusted documents (development bypass): would refuse %s with %s", name, problem.code)
            return
        raise problem


def _not_in_list(op_id: str) -> PersistedProblem:
    return PersistedProblem(NOT_IN_LIST, f"Persisted query '{op_id[:128]}' not found in the persisted query list")


def _apq_hash(extensions: Mapping[str, Any] | None) -> str | None:
    if not extensions:
        return None
    persisted = extensions.get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, Mapping) or persisted.get("version") != 1:
        raise PersistedProblem("BAD_REQUEST", "Unsupported persisted query version")
    sha = persisted.get("sha256Hash")
    if not isinstance(sha, str) or len(sha) != 64:
        raise PersistedProblem("BAD_REQUEST", "persistedQuery.sha256Hash must be a SHA-256 hex digest")
    return sha.lower()
