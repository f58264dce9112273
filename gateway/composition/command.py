"""``gateway compose CONFIG [OUTPUT | -o OUTPUT]``."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from .compose import compose
from .config import ConfigError, load_config
from .contracts import ContractFilter, apply_contract


def write_atomically(path: str, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers never see a half-written supergraph."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    # mkstemp creates the file private (0600); a supergraph is meant to be read by others.
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_compose(
    config_path: str, output_path: str | None, contract: tuple[str, ContractFilter] | None = None
) -> int:
    """Compose the config's subgraphs; write the supergraph (stdout without OUTPUT).

    With ``contract`` (a name and its tag filter), the supergraph written is that contract
    variant (:mod:`gateway.composition.contracts`). Exit status 0 on success. On failure nothing
    is written, every error is printed to stderr (code, subgraphs, message) and the status is 1
    (2 for an unreadable config).
    """
    try:
        sources = load_config(config_path)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = compose(sources)
    if result.errors or result.supergraph_sdl is None:
        for err in result.errors:
            print(f"error: {err}", file=sys.stderr)
        print(f"composition failed with {len(result.errors)} error(s)", file=sys.stderr)
        return 1
    # Hints do not fail composition; they point at things that may surprise (dropped arguments ...).
    for hint in result.hints:
        print(f"hint: {hint.code}: {hint.message}", file=sys.stderr)
    sdl = result.supergraph_sdl
    what = f"{len(sources)} subgraphs"
    if contract is not None and result.supergraph is not None:
        name, tags = contract
        filtered = apply_contract(result.supergraph, tags)
        if filtered.errors or filtered.supergraph_sdl is None:
            for err in filtered.errors:
                print(f"error: {err}", file=sys.stderr)
            print(f"contract {name} failed with {len(filtered.errors)} error(s)", file=sys.stderr)
            return 1
        sdl = filtered.supergraph_sdl
        what += f", contract {name}: {len(filtered.hidden_types)} types hidden"
    if output_path is None or output_path == "-":
        sys.stdout.write(sdl)
    else:
        write_atomically(output_path, sdl)
        print(f"wrote {output_path} ({what})", file=sys.stderr)
    return 0
