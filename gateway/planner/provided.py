"""What an enclosing ``@provides`` lets a subgraph answer without a jump.

``Product.reviews @provides(fields: "author { username } ... on Book { isbn }")`` in
subgraph ``reviews`` means: below that field, ``reviews`` returns ``author.username``
(and ``isbn`` on books) although it declares them ``@external``. A :class:`Provided`
is that field set as a tree: field names lead to what is provided below them, and
:class:`On` parts hold what is provided only for objects of one type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from gateway.planner.operation import OpField, OpSelection

Applies = Callable[[str | None, str], bool]
"""``applies(type_condition, type_name)``: whether a fragment on the condition applies to the type
(:meth:`gateway.supergraph.model.Supergraph.applies`)."""


@dataclass(frozen=True, slots=True)
class On:
    """The part of a provided field set under an inline fragment (``None``: no type condition)."""

    type_condition: str | None


class Provided:
    """A provided field set (built once from a ``@provides``; never changed afterwards).

    Parts keep the order of the field set: when a field is provided both directly and
    under a fragment, the later part's sub-selection wins, as the merge always did.
    """

    __slots__ = ("_parts",)

    def __init__(self, parts: dict[str | On, Provided] | None = None) -> None:
        self._parts: dict[str | On, Provided] = parts if parts is not None else {}

    @classmethod
    def of(cls, sels: list[OpSelection]) -> Provided:
        """The tree of a parsed field set."""
        parts: dict[str | On, Provided] = {}
        for s in sels:
            if isinstance(s, OpField):
                child = cls.of(s.selections) if s.selections else cls()
                existing = parts.get(s.name)
                if existing is not None:
                    existing._parts.update(child._parts)
                else:
                    parts[s.name] = child
            else:
                key = On(s.type_condition)
                parts.setdefault(key, cls())._parts.update(cls.of(s.selections)._parts)
        return cls(parts)

    def __bool__(self) -> bool:
        return bool(self._parts)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Provided) and self._parts == other._parts

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Provided({self._parts!r})"

    def _fragments_for(self, type_name: str, applies: Applies) -> Iterator[Provided]:
        for key, sub in self._parts.items():
            if isinstance(key, On) and applies(key.type_condition, type_name):
                yield sub

    def field(self, type_name: str, name: str, applies: Applies) -> Provided | None:
        """What is provided below field ``name`` of an object of ``type_name``: ``None`` when the
        field itself is not provided, an empty value when it is but nothing below it is."""
        out: dict[str | On, Provided] | None = None
        direct = self._parts.get(name)
        if direct is not None:
            out = dict(direct._parts)
        for sub in self._fragments_for(type_name, applies):
            inner = sub._parts.get(name)
            if inner is not None:
                out = {**(out or {}), **inner._parts}
        return None if out is None else Provided(out)

    def narrow(self, type_name: str, applies: Applies) -> Provided:
        """The parts that hold for objects of ``type_name``, fragments that apply folded in."""
        out: dict[str | On, Provided] = {}
        for key, sub in self._parts.items():
            if isinstance(key, On):
                if applies(key.type_condition, type_name):
                    out.update(sub._parts)
            else:
                out[key] = sub
        return Provided(out)


def covers(provided: Provided | None, type_name: str, name: str, applies: Applies) -> bool:
    """Whether ``provided`` provides field ``name`` on an object of ``type_name``."""
    return bool(provided) and provided.field(type_name, name, applies) is not None  # type: ignore[union-attr]


def below(provided: Provided | None, type_name: str, name: str, applies: Applies) -> Provided | None:
    """What ``provided`` provides below field ``name`` (``None`` when nothing)."""
    if not provided:
        return None
    return provided.field(type_name, name, applies) or None


def narrowed(provided: Provided | None, type_name: str, applies: Applies) -> Provided | None:
    """``provided`` narrowed to ``type_name`` (``None`` and empty stay as they are)."""
    if not provided:
        return provided
    return provided.narrow(type_name, applies)
