"""``python -m subgraphs.schema_export DIR``: write each subgraph's SDL to ``DIR/<name>.graphql``.

The SDL is exactly what the subgraph answers to ``{ _service { sdl } }``, so the
committed files are what composition sees.
"""

from __future__ import annotations

import sys
from pathlib import Path

from subgraphs.common.settings import SERVICE_NAMES
from subgraphs.registry import load_definition


def subgraph_sdl(name: str) -> str:
    """The federation SDL of subgraph ``name``."""
    schema = load_definition(name).schema_factory()
    result = schema.execute_sync("{ _service { sdl } }")
    if result.errors or not result.data:
        raise RuntimeError(f"{name}: cannot read _service.sdl: {result.errors}")
    return str(result.data["_service"]["sdl"]).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write every subgraph's SDL into the directory given (default ``schema/subgraphs``)."""
    args = argv if argv is not None else sys.argv[1:]
    target = Path(args[0] if args else "schema/subgraphs")
    target.mkdir(parents=True, exist_ok=True)
    for name in SERVICE_NAMES:
        (target / f"{name}.graphql").write_text(subgraph_sdl(name), encoding="utf-8")
        print(f"wrote {target / f'{name}.graphql'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
