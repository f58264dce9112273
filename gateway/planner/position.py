"""Where the walk is: a position in one fetch group's selection set, and how it got there."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import NamedTuple

from gateway.planner.groups import FetchGroup
from gateway.planner.nodes import SelSet
from gateway.planner.operation import Condition, OpField, OpFragment, OpSelection
from gateway.planner.provided import Provided


class ClientField(NamedTuple):
    """What the client selects under one response name: the field and its printed arguments."""

    name: str
    args: str


ClientNames = dict[str, ClientField]
"""The client's own selections at one level, by response name."""


@dataclass(frozen=True, slots=True)
class ChainStep:
    """One field on the way from an anchor down to a position (see :attr:`Position.chain`), or,
    with ``type_condition``, the narrowing of an abstract type to one of its types there (an
    inline fragment; the field members are then empty)."""

    parent_type: str
    response_name: str
    name: str
    args: str
    directives: str
    type_condition: str | None = None
    variables: frozenset[str] = frozenset()  # used by args and directives: the re-entering fetch declares them


def fragment_step(parent_type: str, type_condition: str) -> ChainStep:
    """The chain step of an inline fragment on ``type_condition`` below ``parent_type``."""
    return ChainStep(parent_type=parent_type, response_name="", name="", args="", directives="",
                     type_condition=type_condition)


@dataclass(slots=True)
class Position:
    """The objects of ``type`` at response ``path``, selected into ``selset`` of ``group``."""

    group: FetchGroup
    selset: SelSet
    type: str
    path: tuple[str, ...]
    provided: Provided | None = None
    entry_key: frozenset[str] = frozenset()
    # response names the client uses at this level: helper fields must not collide with them
    client: ClientNames | None = None
    # The nearest ancestor object that another subgraph can reach (the operation root, or an
    # entity), and the fields from it down to here. When a field has no key to jump by, the
    # same path is asked from that anchor in a subgraph that resolves the whole of it.
    anchor: Position | None = None
    chain: tuple[ChainStep, ...] = ()
    # On an entity position (its own anchor): the anchor above it and the way from there, for a
    # field whose subgraph knows this type only as a value type (it must be re-entered higher up).
    outer_anchor: Position | None = None
    outer_chain: tuple[ChainStep, ...] = ()
    # Set when this object type was reached through a fragment on an abstract field: objects of
    # other types share the response path, so paths below here say which type they go through
    # (``review|[UserReview].product``) and entity fetches there skip the other types' objects.
    type_filter: str | None = None
    # @skip/@include conditions of the client selections leading here: the data asked for at
    # this position is only needed when all of them hold
    conds: frozenset[Condition] = frozenset()

    def anchors(self) -> list[tuple[Position, tuple[ChainStep, ...]]]:
        """The anchors to re-enter from, nearest first, each with the way from it down to here."""
        out: list[tuple[Position, tuple[ChainStep, ...]]] = []
        anchor: Position | None = self.anchor
        chain = self.chain
        while anchor is not None and len(out) < 8:
            out.append((anchor, chain))
            chain = (*anchor.outer_chain, *chain)
            anchor = anchor.outer_anchor
        return out

    def helper_name(self, f: OpField) -> str:
        """The response name for ``f`` at this level (see :func:`helper_name`)."""
        return helper_name(f, self.client)


def helper_name(f: OpField, client: ClientNames | None) -> str:
    """The response name of ``f``: helper fields step aside from the client's names, and helper
    fields with arguments get a name of their own (two @requires may need ``price`` in two
    currencies on the same object). The data and the representation recipe both use it."""
    if not f.helper:
        return f.response_name
    if f.args:
        return f"_h_{f.name}_{hashlib.sha1(f.args.encode()).hexdigest()[:8]}"
    if client:
        used = client.get(f.response_name)
        if used is not None and used != ClientField(f.name, f.args):
            return "_h_" + f.response_name
    return f.response_name


def client_names(sels: list[OpSelection], out: ClientNames) -> None:
    """Add the response names the client's own selections in ``sels`` use."""
    for s in sels:
        if isinstance(s, OpFragment):
            client_names(s.selections, out)
        elif not s.helper:
            out.setdefault(s.response_name, ClientField(s.name, s.args))


def typename_field() -> OpField:
    """A ``__typename`` the planner adds (entity representations need it)."""
    return OpField(response_name="__typename", name="__typename", helper=True)


def base_type(type_str: str) -> str:
    """``[Product!]!`` -> ``Product``."""
    return type_str.replace("[", "").replace("]", "").replace("!", "")
