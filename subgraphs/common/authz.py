"""Authorization declared in the schema and checked again inside the subgraph.

Schemas state who may read or change what with the federation directives
``@authenticated``, ``@requiresScopes(scopes: [[...]])`` and
``@policy(policies: [[...]])`` (the gateway enforces them before any fetch). This
module enforces the very same declarations in the subgraph, so a subgraph called
directly (without the gateway) applies them too. Semantics as the Apollo Router
documents them: inner lists AND, outer lists OR; several directives that apply to
one field (its own, its parent type's, its return type's) must all hold.

A denial answers the field ``null`` with a stable code: UNAUTHENTICATED for an
anonymous caller, FORBIDDEN for a signed-in caller without the scope or policy.
A denied mutation root field also leaves an audit entry (result = that code) in
the subgraph's audit table, here, in one place for every mutation.

Cost: the requirements are read from the schema once, and only the resolvers of
annotated fields are wrapped with a check; every other field runs exactly as it
did (no per-field middleware). Schemas use the small helpers below, e.g.
``strawberry.field(directives=authenticated())`` or
``directives=requires_scopes("passport:write") + policy("passport:publish")``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLType,
    default_field_resolver,
    get_named_type,
)
from strawberry.extensions import SchemaExtension
from strawberry.federation.schema_directives import Authenticated, Policy, RequiresScopes

from subgraphs.common.caller import ANONYMOUS, Caller
from subgraphs.common.errors import DomainError, Forbidden, Unauthenticated

log = logging.getLogger("dpp.authz")

DEFINITION = "strawberry-definition"  # where Strawberry keeps its definition on graphql-core objects
INSTALLED = "dpp-authz"  # marker in GraphQLSchema.extensions once the checks are in place
GUARD = "dpp_guard"  # a guarded resolver's (requirement, wrapped resolver), in its __dict__
SIGN_IN = "Sign in to do this"

# Alternatives (OR) of requirement sets (AND), as the directives write them.
Clauses = tuple[frozenset[str], ...]


# -- helpers for schemas ----------------------------------------------------------------------


def _alternatives(items: Sequence[str | Sequence[str]]) -> list[list[str]]:
    if not items:
        raise ValueError("give at least one alternative")
    return [[item] if isinstance(item, str) else list(item) for item in items]


def authenticated() -> list[object]:
    """``@authenticated``: any signed-in caller."""
    return [Authenticated()]


def requires_scopes(*alternatives: str | Sequence[str]) -> list[object]:
    """``@requiresScopes``: each argument is one alternative (OR); a list argument needs all its scopes (AND).

    ``requires_scopes("a")`` is ``[["a"]]``; ``requires_scopes(["a", "b"], "c")`` is ``[["a", "b"], ["c"]]``.
    """
    return [RequiresScopes(scopes=_alternatives(alternatives))]


def policy(*alternatives: str | Sequence[str]) -> list[object]:
    """``@policy``: each argument is one alternative (OR); a list argument needs all its policies (AND)."""
    return [Policy(policies=_alternatives(alternatives))]


# -- requirements -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Requirement:
    """What a field needs. ``scopes`` and ``policies`` are groups that must all hold (one per directive)."""

    authenticated: bool = False
    scopes: tuple[Clauses, ...] = ()
    policies: tuple[Clauses, ...] = ()

    @property
    def empty(self) -> bool:
        """True when the field is open to everyone."""
        return not (self.authenticated or self.scopes or self.policies)

    def __and__(self, other: Requirement) -> Requirement:
        return Requirement(
            authenticated=self.authenticated or other.authenticated,
            scopes=tuple(dict.fromkeys(self.scopes + other.scopes)),
            policies=tuple(dict.fromkeys(self.policies + other.policies)),
        )

    def denial(self, caller: Caller) -> DomainError | None:
        """Why ``caller`` may not resolve the field, or ``None`` when it may.

        Called for every item a guarded resolver resolves, so written as plain loops (a
        generator per group cost ~3 us per call, the loops under 1 us).
        """
        if caller.is_anonymous:
            return Unauthenticated(SIGN_IN)
        if self.scopes:
            scopes = caller.scopes
            for group in self.scopes:
                for clause in group:
                    if clause <= scopes:
                        break
                else:
                    return Forbidden(f"This needs {_describe(group, 'scope')}", requires=_as_lists(group))
        if self.policies:
            policies = caller.policies
            for group in self.policies:
                for clause in group:
                    if clause <= policies:
                        break
                else:
                    return Forbidden(
                        f"This needs {_describe(group, 'permission')} in the active tenant", requires=_as_lists(group)
                    )
        return None


def _as_lists(group: Clauses) -> list[list[str]]:
    return [sorted(clause) for clause in group]


def _describe(group: Clauses, noun: str) -> str:
    options = [" and ".join(sorted(clause)) for clause in group]
    if len(options) == 1:
        return f"the {options[0]} {noun}"
    return f"one {noun} set of: " + "; ".join(options)


def requirement_of(directives: Iterable[object]) -> Requirement:
    """The requirement the auth directives among ``directives`` express (others are ignored)."""
    result = Requirement()
    for directive in directives:
        if isinstance(directive, Authenticated):
            result = result & Requirement(authenticated=True)
        elif isinstance(directive, RequiresScopes):
            clauses = tuple(frozenset(item) for item in directive.scopes)
            result = result & Requirement(authenticated=True, scopes=(clauses,))
        elif isinstance(directive, Policy):
            clauses = tuple(frozenset(item) for item in directive.policies)
            result = result & Requirement(authenticated=True, policies=(clauses,))
    return result


def _directives_of(graphql_object: Any) -> list[object]:
    definition = (getattr(graphql_object, "extensions", None) or {}).get(DEFINITION)
    return list(getattr(definition, "directives", None) or ())


def _type_requirement(named: GraphQLNamedType | GraphQLType) -> Requirement:
    return requirement_of(_directives_of(named))


def requirements(schema: GraphQLSchema) -> dict[tuple[str, str], Requirement]:
    """``(parent type, field) -> requirement`` for every field that has one.

    A field needs what its own directives say, AND what its parent type's say (so
    that a type-level directive also guards the type reached through ``_entities``),
    AND what its return type's say.
    """
    table: dict[tuple[str, str], Requirement] = {}
    for type_name, graphql_type in schema.type_map.items():
        if type_name.startswith("__") or not isinstance(graphql_type, GraphQLObjectType):
            continue
        parent = _type_requirement(graphql_type)
        for field_name, field in graphql_type.fields.items():
            needed = requirement_of(_directives_of(field)) & parent & _type_requirement(get_named_type(field.type))
            if not needed.empty:
                table[(type_name, field_name)] = needed
    return table


def policy_names(schema: GraphQLSchema) -> frozenset[str]:
    """Every policy the schema's ``@policy`` directives name (what to ask identity to evaluate)."""
    names: set[str] = set()
    for requirement in requirements(schema).values():
        for group in requirement.policies:
            for clause in group:
                names |= clause
    return frozenset(names)


# -- enforcement ------------------------------------------------------------------------------


Resolver = Callable[..., Any]


def _caller_of(info: Any) -> Caller:
    return getattr(info.context, "caller", None) or ANONYMOUS


def _guard(requirement: Requirement, resolve: Resolver) -> Resolver:
    def guarded(source: Any, info: Any, **arguments: Any) -> Any:
        denial = requirement.denial(_caller_of(info))
        if denial is not None:
            raise denial
        return resolve(source, info, **arguments)

    # what it checks and what it calls, for subgraphs/common/fast_fields.py (the same check, inline)
    guarded.__dict__[GUARD] = (requirement, resolve)
    return guarded


def _guard_mutation(requirement: Requirement, resolve: Resolver, field_name: str, field: GraphQLField) -> Resolver:
    object_type = _object_type_of(field_name, field)

    def guarded(source: Any, info: Any, **arguments: Any) -> Any:
        denial = requirement.denial(_caller_of(info))
        if denial is not None:
            return _audit_and_raise(info, denial, object_type, arguments)
        return resolve(source, info, **arguments)

    return guarded


_VERB = re.compile(r"^[a-z]+([A-Z][A-Za-z0-9]*?)s?$")


def _object_type_of(field_name: str, field: GraphQLField) -> str:
    """What a mutation acts on, for the audit trail: its object return type, else the noun in its name."""
    named = get_named_type(field.type)
    if isinstance(named, GraphQLObjectType):
        return named.name
    match = _VERB.match(field_name)
    return match.group(1) if match else "Mutation"


def _object_id(arguments: Mapping[str, Any]) -> str | None:
    for key in ("id", "templateId", "template_id", "productId", "product_id"):
        value = arguments.get(key)
        if isinstance(value, str):
            return value[:64]
    return None


async def _audit_and_raise(info: Any, denial: DomainError, object_type: str, arguments: Mapping[str, Any]) -> Any:
    """Write the denied mutation's audit entry, then fail the field with ``denial``."""
    ctx = info.context
    service = getattr(ctx, "service", None)
    if service is not None:
        caller = _caller_of(info)
        session = ctx.session
        try:
            session.add(
                service.audit_model(
                    tenant_id=caller.tenant_id,
                    user_id=caller.user_id,
                    action=info.field_name,
                    object_type=object_type,
                    object_id=_object_id(arguments),
                    result=denial.code,
                    message=f"denied by the schema: {denial.message}"[:500],
                    correlation_id=getattr(ctx, "correlation_id", None),
                )
            )
            await session.commit()
        except Exception:  # the denial matters more than its audit entry
            await session.rollback()
            log.exception("could not audit denied %s (correlation id %s)", info.field_name, ctx.correlation_id)
    raise denial


def install(schema: GraphQLSchema) -> dict[tuple[str, str], Requirement]:
    """Wrap the resolver of every annotated field of ``schema`` with its check (once per schema)."""
    installed = schema.extensions.get(INSTALLED)
    if installed is not None:
        return installed  # type: ignore[no-any-return]
    table = requirements(schema)
    mutation = schema.mutation_type.name if schema.mutation_type is not None else None
    for (type_name, field_name), requirement in table.items():
        graphql_type = schema.type_map[type_name]
        assert isinstance(graphql_type, GraphQLObjectType)
        field = graphql_type.fields[field_name]
        resolve = field.resolve or default_field_resolver
        if type_name == mutation:
            field.resolve = _guard_mutation(requirement, resolve, field_name, field)
        else:
            field.resolve = _guard(requirement, resolve)
    schema.extensions[INSTALLED] = table
    return table


class Authorize(SchemaExtension):
    """Puts the schema's declared authorization in force (on the first operation, for good).

    It implements no ``resolve`` hook on purpose: a hook would run for every field of
    every request; the wrapped resolvers cost nothing for fields without a directive.
    """

    def on_operation(self) -> Iterator[None]:
        install(self.execution_context.schema._schema)
        yield
