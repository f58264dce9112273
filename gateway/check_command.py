"""``gateway check CONFIG (--supergraph FILE | --url URL) [--contract NAME --include T --exclude T]``.

Composes the subgraphs of CONFIG (as ``gateway compose``, optionally into a contract variant)
and classifies every change of the API schema against what is served now: a supergraph file,
or a running gateway's endpoint, whose ``<url>/schema.graphql`` is read (introspection when that
is refused). Clients only see the API schema, so that is what is compared (``gateway schema diff``'s
classification: breaking, dangerous, safe).

Exit status, for CI: 0 nothing breaking (dangerous changes are printed but pass), 1 breaking
changes, 2 the subgraphs do not compose (or the contract is invalid), 3 the config or the
baseline cannot be read.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import httpx
from graphql import GraphQLError, GraphQLSchema, build_client_schema, build_schema, get_introspection_query

from gateway.composition.api_schema import api_schema_from_supergraph
from gateway.composition.compose import compose
from gateway.composition.config import ConfigError, load_config
from gateway.composition.contracts import ContractFilter, apply_contract
from gateway.composition.diff import BREAKING, DANGEROUS, SAFE, diff_schemas
from gateway.supergraph import SupergraphError

SAFE_EXIT, BREAKING_EXIT, COMPOSITION_EXIT, UNREADABLE_EXIT = 0, 1, 2, 3


class BaselineError(Exception):
    """The schema served now cannot be obtained."""


def fetch_api_schema(url: str, headers: Sequence[str] = (), timeout: float = 10.0) -> GraphQLSchema:
    """The API schema a running gateway serves at ``url`` (its GraphQL endpoint)."""
    sent: dict[str, str] = {}
    for header in headers:
        name, sep, value = header.partition(":")
        if not sep or not name.strip():
            raise BaselineError(f"--header {header!r}: expected 'Name: value'")
        sent[name.strip()] = value.strip()
    try:
        with httpx.Client(timeout=timeout, headers=sent) as client:
            sdl = client.get(url.rstrip("/") + "/schema.graphql")
            if sdl.status_code == 200:
                return build_schema(sdl.text)
            answer = client.post(url, json={"query": get_introspection_query(descriptions=True)},
                                 headers={"accept": "application/json"})
            body = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise BaselineError(f"cannot read the schema of {url}: {exc}") from exc
    except GraphQLError as exc:
        raise BaselineError(f"{url}/schema.graphql is not valid SDL: {exc}") from exc
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("__schema"), dict):
        errors = body.get("errors") if isinstance(body, dict) else None
        raise BaselineError(f"{url} refused both schema.graphql ({sdl.status_code}) and introspection: {errors}")
    try:
        return build_client_schema(data)  # type: ignore[arg-type]
    except (GraphQLError, TypeError) as exc:
        raise BaselineError(f"{url} answered an unusable introspection result: {exc}") from exc


def _baseline(supergraph: str | None, url: str | None, headers: Sequence[str]) -> GraphQLSchema:
    if url is not None:
        return fetch_api_schema(url, headers)
    assert supergraph is not None
    try:
        return api_schema_from_supergraph(Path(supergraph).read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"cannot read {supergraph}: {exc.strerror}") from exc
    except (GraphQLError, TypeError, SupergraphError) as exc:
        raise BaselineError(f"{supergraph} is not a valid supergraph: {exc}") from exc


def run_check(
    config: str,
    *,
    supergraph: str | None = None,
    url: str | None = None,
    headers: Sequence[str] = (),
    contract: tuple[str, ContractFilter] | None = None,
) -> int:
    """Compose, diff against the baseline, print the changes; the exit status says what was found."""
    try:
        sources = load_config(config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return UNREADABLE_EXIT
    result = compose(sources)
    if not result.ok or result.supergraph is None or result.supergraph_sdl is None:
        for err in result.errors:
            print(f"error: {err}", file=sys.stderr)
        print(f"composition failed with {len(result.errors)} error(s)", file=sys.stderr)
        return COMPOSITION_EXIT
    sdl = result.supergraph_sdl
    if contract is not None:
        filtered = apply_contract(result.supergraph, contract[1])
        if filtered.errors or filtered.supergraph_sdl is None:
            for err in filtered.errors:
                print(f"error: {err}", file=sys.stderr)
            print(f"contract {contract[0]} failed with {len(filtered.errors)} error(s)", file=sys.stderr)
            return COMPOSITION_EXIT
        sdl = filtered.supergraph_sdl
    try:
        old = _baseline(supergraph, url, headers)
    except BaselineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return UNREADABLE_EXIT
    changes = diff_schemas(old, api_schema_from_supergraph(sdl))
    for change in changes:
        print(change)
    counts = {level: sum(1 for c in changes if c.level == level) for level in (BREAKING, DANGEROUS, SAFE)}
    print(f"{counts[BREAKING]} breaking, {counts[DANGEROUS]} dangerous, {counts[SAFE]} safe")
    return BREAKING_EXIT if counts[BREAKING] else SAFE_EXIT
