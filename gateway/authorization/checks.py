"""What an operation asks of its caller: the requirement checks of one prepared operation.

Built once per prepared operation (and cached with its plan) from the supergraph's
``@authenticated`` / ``@requiresScopes`` / ``@policy``: every selection that carries a
requirement becomes a :class:`Check` with its response path, the requirements it needs
(interned as small integers, *atoms*), and the nearest enclosing check. A request then
only evaluates each distinct atom against its :class:`~gateway.contracts.Principal`
(a subset test per alternative) and intersects integer sets.

Where a requirement comes from (Apollo Router's rules):

- the field's own directives, and those of its return type (object, interface, scalar,
  enum: the named type under lists and non-null);
- a fragment's type condition (inline or named, named ones are inlined by then);
- the root operation type: a requirement there covers the whole operation.

A field selected on an interface may be answered by any implementation, so it also needs
what every possible implementation asks for (the object type, and its own field). Apollo
Router removes such a field from everybody whenever implementations differ; here it is
removed only from a caller who lacks one of them (see the README's authorization section).
Introspection (``__typename``, ``__schema``, ``__type``) is never checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    get_named_type,
)

from gateway.contracts import Principal
from gateway.planner.operation import NormalizedOperation, OpFragment, OpSelection
from gateway.supergraph import AuthRequirements, Supergraph

__all__ = ["Atom", "Check", "OperationChecks", "analyze"]

_NOT_CHECKED = frozenset({"__typename", "__schema", "__type"})
LIST_ITEMS = "@"  # Apollo Router's path element for "every item of this list"
FRAGMENT_PREFIX = "... on "  # and for a type condition


@dataclass(frozen=True, slots=True)
class Atom:
    """One requirement: authenticated, or an OR of ANDs of scopes, or of policies."""

    kind: str  # "authenticated" | "scopes" | "policies"
    alternatives: tuple[frozenset[str], ...] = ()

    def holds(self, principal: Principal) -> bool:
        """Whether ``principal`` meets this requirement."""
        if self.kind == "authenticated":
            return principal.authenticated
        held = principal.scopes if self.kind == "scopes" else principal.policies
        return any(alt <= held for alt in self.alternatives)


@dataclass(frozen=True, slots=True)
class Check:
    """One selection that carries requirements."""

    atoms: frozenset[int]  # indexes into OperationChecks.atoms, all must hold
    path: tuple[str, ...]  # response path, "@" for list items, "... on T" for fragments
    parent: int  # the enclosing check's index, -1 at the top
    selection: OpSelection | None  # None: the operation itself (its root type's requirements)
    mutation_field: str | None = None  # a root mutation field: denying it is audited


@dataclass(slots=True)
class OperationChecks:
    """The checks of one prepared operation, and the verdicts reached for it so far.

    ``verdicts`` maps the set of atoms a caller fails to what was decided for that set
    (filtered operation, plan, errors); the stage fills and bounds it.
    """

    kind: str
    atoms: tuple[Atom, ...]
    checks: tuple[Check, ...]
    mutation_fields: tuple[str, ...] = ()
    verdicts: dict[frozenset[int], Any] = field(default_factory=dict)

    def failing(self, principal: Principal) -> frozenset[int]:
        """The atoms ``principal`` does not meet (empty: everything is authorized)."""
        return frozenset(i for i, atom in enumerate(self.atoms) if not atom.holds(principal))

    def denied(self, failing: frozenset[int]) -> tuple[int, ...]:
        """The checks removed for a caller failing ``failing``; inside a removed one, none is reported."""
        out: list[int] = []
        gone: set[int] = set()
        for i, check in enumerate(self.checks):
            if check.parent in gone:
                gone.add(i)
            elif check.atoms & failing:
                gone.add(i)
                out.append(i)
        return tuple(out)


class _Analyzer:
    def __init__(self, supergraph: Supergraph) -> None:
        self.sg = supergraph
        self.schema: GraphQLSchema = supergraph.api_schema
        self.atoms: dict[Atom, int] = {}
        self.checks: list[Check] = []

    def intern(self, reqs: AuthRequirements | None, into: set[int]) -> None:
        if not reqs:
            return
        found: list[Atom] = []
        if reqs.authenticated:
            found.append(Atom("authenticated"))
        if reqs.scopes is not None:
            found.append(Atom("scopes", reqs.scopes))
        if reqs.policies is not None:
            found.append(Atom("policies", reqs.policies))
        for atom in found:
            into.add(self.atoms.setdefault(atom, len(self.atoms)))

    def type_reqs(self, name: str) -> AuthRequirements | None:
        td = self.sg.types.get(name)
        return td.auth if td is not None else None

    def field_reqs(self, type_name: str, field_name: str) -> AuthRequirements | None:
        fd = self.sg.field_def(type_name, field_name)
        return fd.auth if fd is not None else None

    def add(
        self,
        atoms: set[int],
        path: tuple[str, ...],
        parent: int,
        sel: OpSelection | None,
        mutation_field: str | None = None,
    ) -> int:
        self.checks.append(Check(frozenset(atoms), path, parent, sel, mutation_field))
        return len(self.checks) - 1

    def walk(
        self,
        parent_type: GraphQLNamedType,
        sels: list[OpSelection],
        path: tuple[str, ...],
        parent: int,
        mutation_root: bool = False,
    ) -> None:
        for s in sels:
            if isinstance(s, OpFragment):
                t = parent_type
                atoms: set[int] = set()
                sub_path = path
                if s.type_condition:
                    found = self.schema.get_type(s.type_condition)
                    t = found if found is not None else parent_type
                    self.intern(self.type_reqs(s.type_condition), atoms)
                    sub_path = (*path, FRAGMENT_PREFIX + s.type_condition)
                check = self.add(atoms, sub_path, parent, s) if atoms else parent
                self.walk(t, s.selections, sub_path, check, mutation_root)
                continue
            if s.name in _NOT_CHECKED or not isinstance(parent_type, GraphQLObjectType | GraphQLInterfaceType):
                continue
            fdef = parent_type.fields.get(s.name)
            if fdef is None:
                continue
            named = get_named_type(fdef.type)
            atoms = set()
            self.intern(self.field_reqs(parent_type.name, s.name), atoms)
            self.intern(self.type_reqs(named.name), atoms)
            if isinstance(parent_type, GraphQLInterfaceType):
                # any implementation may answer: it needs what each of them asks
                for impl in self.schema.get_possible_types(parent_type):
                    self.intern(self.type_reqs(impl.name), atoms)
                    self.intern(self.field_reqs(impl.name, s.name), atoms)
            sub_path = (*path, s.response_name)
            if _is_list(fdef.type):
                sub_path = (*sub_path, LIST_ITEMS)
            check = parent
            if atoms:
                check = self.add(atoms, sub_path, parent, s, s.name if mutation_root else None)
            if s.selections:
                self.walk(named, s.selections, sub_path, check)


def _is_list(t: GraphQLOutputType) -> bool:
    inner = t.of_type if isinstance(t, GraphQLNonNull) else t
    return isinstance(inner, GraphQLList)


def _root_fields(sels: list[OpSelection], out: list[str]) -> None:
    for s in sels:
        if isinstance(s, OpFragment):
            _root_fields(s.selections, out)
        elif s.name not in _NOT_CHECKED and s.name not in out:
            out.append(s.name)


def analyze(supergraph: Supergraph, op: NormalizedOperation) -> OperationChecks | None:
    """The checks of ``op`` (valid against the API schema), or None when it asks for nothing."""
    schema = supergraph.api_schema
    root: GraphQLObjectType | None = {
        "query": schema.query_type,
        "mutation": schema.mutation_type,
        "subscription": schema.subscription_type,
    }[op.kind]
    if root is None:
        return None
    a = _Analyzer(supergraph)
    atoms: set[int] = set()
    a.intern(a.type_reqs(root.name), atoms)
    top = a.add(atoms, (), -1, None) if atoms else -1
    a.walk(root, op.selections, (), top, mutation_root=op.kind == "mutation")
    if not a.checks:
        return None
    mutation_fields: list[str] = []
    if op.kind == "mutation":
        _root_fields(op.selections, mutation_fields)
    ordered = sorted(a.atoms, key=a.atoms.__getitem__)
    return OperationChecks(op.kind, tuple(ordered), tuple(a.checks), tuple(mutation_fields))
