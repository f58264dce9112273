"""Running one document through a Strawberry schema with a chosen graphql-core execution context.

The fast-path tests (test_fast_fields.py, test_fast_objects.py) answer each document twice, once with
Strawberry's own execution context (the reference) and once with ``FastFieldsExecutor``, as three callers.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import ExecutionResult, execute, parse

from subgraphs.common.caller import ANONYMOUS, Caller

__all__ = ["CALLERS", "Context", "run"]

# anonymous, signed in without the x:read scope, signed in with it
CALLERS = [
    ANONYMOUS,
    Caller(user_id="u1", tenant_id="t1", roles=("VIEWER",)),
    Caller(user_id="u2", tenant_id="t1", roles=("VIEWER",), scopes=frozenset({"x:read"})),
]


@dataclass
class Context:
    """The request context the guards read (only its caller)."""

    caller: Any = ANONYMOUS


def run(
    schema: Any, executor: type, document: str, caller: Caller = ANONYMOUS, variables: Mapping[str, Any] | None = None
) -> ExecutionResult:
    """``document`` executed on ``schema`` by ``executor`` for ``caller`` (awaited when it is async), on a
    copy of ``variables``: resolvers may change what they are given (representations), and the reference
    and the fast path must see the same input."""

    async def go() -> ExecutionResult:
        result = execute(
            schema._schema,
            parse(document),
            variable_values=copy.deepcopy(dict(variables or {})),
            context_value=Context(caller),
            executor_class=executor,
        )
        if hasattr(result, "__await__"):
            result = await result
        return result  # type: ignore[return-value]

    return asyncio.run(go())
