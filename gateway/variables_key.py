"""The identity of a request's variable values, for what is kept or shared per distinct values.

Used by the per-operation caches of demand-control estimates (gateway/cost/stage.py) and introspection
answers (gateway/preparation.py), and by coalescing (gateway/coalescing.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

__all__ = ["variables_key"]


def variables_key(variables: Mapping[str, Any]) -> bytes | None:
    """The values' JSON with sorted keys; None when orjson cannot encode them (then nothing is kept or shared)."""
    try:
        return orjson.dumps(dict(variables), option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None
