"""Helpers shared by the composition tests: loading corpus cases and normalising SDL for comparison."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from graphql import build_ast_schema, parse, print_ast, print_schema
from graphql.language import DirectiveDefinitionNode, DocumentNode, SchemaDefinitionNode, TypeDefinitionNode

from gateway.composition import SubgraphSource

CASES_DIR = Path(__file__).parent / "cases"


@dataclass(frozen=True)
class Case:
    """One corpus case: its subgraphs and what the reference composer answered."""

    name: str
    path: Path
    subgraphs: list[SubgraphSource]
    expected_api: str | None
    expected_supergraph: str | None
    expected_errors: list[str] | None


def load_case(path: Path) -> Case:
    """Subgraphs are the case's ``*.graphql`` files (not ``expected*``), in file-name order."""
    subgraphs = [
        SubgraphSource(p.stem, f"http://{p.stem}.example/graphql", p.read_text())
        for p in sorted(path.glob("*.graphql"))
        if not p.name.startswith("expected")
    ]

    def read(name: str) -> str | None:
        p = path / name
        return p.read_text() if p.exists() else None

    errors = read("expected-errors.txt")
    return Case(
        path.name,
        path,
        subgraphs,
        read("expected-api.graphql"),
        read("expected-supergraph.graphql"),
        errors.split() if errors is not None else None,
    )


def all_cases() -> list[Path]:
    """Every case directory of the corpus."""
    return sorted(p for p in CASES_DIR.iterdir() if p.is_dir())


def _sorted_document(doc: DocumentNode) -> str:
    def key(d: object) -> tuple[int, str]:
        if isinstance(d, SchemaDefinitionNode):
            return (0, "")
        if isinstance(d, DirectiveDefinitionNode):
            return (1, d.name.value)
        assert isinstance(d, TypeDefinitionNode)
        return (2, d.name.value)

    return print_ast(DocumentNode(definitions=tuple(sorted(doc.definitions, key=key))))


def normalise_api(sdl: str) -> str:
    """A canonical text for an API schema: types sorted by name, field order kept.

    Field order is kept on purpose: it is part of what the reference composer decides.
    """
    return _sorted_document(parse(print_schema(build_ast_schema(parse(sdl)))))


_VERSIONED_JOIN = {"join__directive", "join__ContextArgument", "join__DirectiveArguments", "join__FieldValue"}


def normalise_supergraph(sdl: str) -> str:
    """A canonical supergraph text that ignores the join spec version.

    We print join v0.3 (v0.5 when progressive override needs it) where Apollo picks
    the version from the subgraphs' federation versions; the definitions that only
    differ because of that are dropped before comparing.
    """
    sdl = re.sub(r"join/v0\.\d", "join/vX", sdl)
    sdl = sdl.replace(", overrideLabel: String", "").replace(", contextArguments: [join__ContextArgument!]", "")
    doc = parse(sdl)
    kept = tuple(d for d in doc.definitions if not (hasattr(d, "name") and d.name and d.name.value in _VERSIONED_JOIN))
    return _sorted_document(DocumentNode(definitions=kept))
