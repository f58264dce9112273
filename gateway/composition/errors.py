"""Composition errors: Apollo's stable codes, the subgraphs and coordinates involved."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class CompositionError:
    """One reason a set of subgraphs does not compose.

    ``code`` is Apollo's stable error code where one exists (``INVALID_FIELD_SHARING``,
    ``FIELD_TYPE_MISMATCH`` ...), so that users can look the rule up in Apollo's
    documentation; ``coordinate`` is the schema coordinate (``Type.field``,
    ``Type.field(arg:)``) the error is about, when there is one.
    """

    code: str
    message: str
    subgraphs: tuple[str, ...] = field(default_factory=tuple)
    coordinate: str | None = None

    def __str__(self) -> str:
        where = f" [{', '.join(self.subgraphs)}]" if self.subgraphs else ""
        return f"{self.code}{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class CompositionHint:
    """Something that composed but that a user may want to know (dropped optional argument ...)."""

    code: str
    message: str
