"""Authorization policies (``object:action``), evaluated by Casbin with RBAC with domains.

Subject = role, domain = tenant id, object and action from the policy name
(``passport.confidential:read`` -> object ``passport.confidential``, action
``read``); ``keyMatch`` on the object and ``*`` as a wildcard action, so the
Admin default ``*``/``*`` grants everything in its tenant.

The rules live in identity's table ``identity_policy_rules`` (one row per ``p``
rule of one tenant). Casbin's own adapters are synchronous and open their own
connections; ours are async SQLModel sessions with tenant scoping (and row-level
security on PostgreSQL). So the rows are read with the request's session first,
and a small in-memory :class:`RowAdapter` (Casbin's adapter interface) hands them
to the enforcer: Casbin evaluates, our persistence layer stays the only way in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import casbin
import sqlalchemy as sa
from casbin import persist
from casbin.model import Model
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from subgraphs.common.caller import ADMIN
from subgraphs.common.errors import BadUserInput, Conflict, not_found
from subgraphs.identity.models import PolicyRule, Role

# The policies the schemas name in @policy and the resolvers check (the catalogue tenants grant from).
KNOWN_POLICIES: frozenset[str] = frozenset(
    {"passport:publish", "passport:revoke", "passport.confidential:read", "identity.audit:read", "catalog:feature"}
)
EVERYTHING = "*:*"
# Default rules of every tenant: (role, object, action). Managers and Viewers get none by default.
DEFAULT_RULES: tuple[tuple[str, str, str], ...] = ((ADMIN, "*", "*"),)

MODEL_TEXT = """
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && keyMatch(r.obj, p.obj) && (r.act == p.act || p.act == "*")
"""


@dataclass(frozen=True, slots=True)
class Grant:
    """One rule of a tenant: ``role`` may ``policy``."""

    role: str
    policy: str


def split_policy(name: str) -> tuple[str, str]:
    """(object, action) of ``object:action``; ``BAD_USER_INPUT`` unless known (or ``*:*``)."""
    value = name.strip()
    if value != EVERYTHING and value not in KNOWN_POLICIES:
        known = ", ".join(sorted(KNOWN_POLICIES))
        raise BadUserInput(f"unknown policy {name!r}; known: {known} (or {EVERYTHING} for everything)", field="policy")
    obj, _, action = value.rpartition(":")
    return obj, action


class RowAdapter(persist.Adapter):  # type: ignore[misc]
    """Casbin's adapter interface over rule rows already read from our database (read-only)."""

    def __init__(self, rules: Iterable[PolicyRule]) -> None:
        self._rules = [(rule.ptype, [rule.role, rule.tenant_id, rule.object, rule.action]) for rule in rules]

    def load_policy(self, model: Model) -> None:
        """Put every row into the model as a ``p`` rule."""
        for ptype, values in self._rules:
            model.add_policy("p", ptype, values)


def enforcer(rules: Iterable[PolicyRule]) -> casbin.Enforcer:
    """A Casbin enforcer over ``rules`` (one tenant's rows)."""
    model = Model()
    model.load_model_from_text(MODEL_TEXT)
    return casbin.Enforcer(model, RowAdapter(rules))


def granted(rules: Sequence[PolicyRule], tenant_id: str, roles: Iterable[str], asked: Iterable[str]) -> frozenset[str]:
    """The policies among ``asked`` that any of ``roles`` holds in ``tenant_id``."""
    roles = tuple(roles)
    names = {name for name in asked if ":" in name}
    if not roles or not names or not rules:
        return frozenset()
    enforce = enforcer(rules).enforce
    result = set()
    for name in names:
        obj, _, action = name.rpartition(":")
        if any(enforce(role, tenant_id, obj, action) for role in roles):
            result.add(name)
    return frozenset(result)


async def tenant_rules(db: AsyncSession, tenant_id: str) -> list[PolicyRule]:
    """The rules of ``tenant_id`` (the session must be allowed to see them)."""
    stmt = sa.select(PolicyRule).where(col(PolicyRule.tenant_id) == tenant_id)
    return list((await db.exec(stmt)).scalars().all())  # type: ignore[call-overload]


def default_rules(tenant_id: str) -> list[PolicyRule]:
    """The rules a new tenant starts with."""
    return [PolicyRule(tenant_id=tenant_id, role=role, object=obj, action=act) for role, obj, act in DEFAULT_RULES]


def grants_of(rules: Iterable[PolicyRule]) -> list[Grant]:
    """The rules as (role, policy) pairs, by role then policy."""
    return sorted(
        (Grant(rule.role, f"{rule.object}:{rule.action}") for rule in rules), key=lambda g: (g.role, g.policy)
    )


async def _role(db: AsyncSession, name: str) -> Role:
    roles = list((await db.exec(sa.select(Role))).scalars().all())  # type: ignore[call-overload]
    by_name = {role.name.lower(): role for role in roles}
    role = by_name.get(name.strip().lower())
    if role is None:
        offered = ", ".join(sorted(r.name for r in roles))
        raise BadUserInput(f"unknown role {name!r}; this tenant has: {offered}", field="role")
    return role


async def grant(db: AsyncSession, tenant_id: str, role_name: str, policy: str) -> Grant:
    """Let ``role_name`` of the session's tenant do ``policy``; CONFLICT when it already may."""
    obj, action = split_policy(policy)
    role = await _role(db, role_name)
    rules = await tenant_rules(db, tenant_id)
    if any(r.role == role.name and r.object == obj and r.action == action for r in rules):
        raise Conflict(f"{role.name} already holds {obj}:{action}", field="policy")
    db.add(PolicyRule(tenant_id=tenant_id, role=role.name, object=obj, action=action))
    try:
        await db.flush()
    except sa.exc.IntegrityError:  # granted concurrently
        raise Conflict(f"{role.name} already holds {obj}:{action}", field="policy") from None
    return Grant(role.name, f"{obj}:{action}")


async def revoke(db: AsyncSession, tenant_id: str, role_name: str, policy: str) -> Grant:
    """Withdraw a rule of the session's tenant; NOT_FOUND when the role does not hold it."""
    obj, action = split_policy(policy)
    role = await _role(db, role_name)
    rule = next(
        (
            r
            for r in await tenant_rules(db, tenant_id)
            if r.role == role.name and r.object == obj and r.action == action
        ),
        None,
    )
    if rule is None:
        raise not_found("policy grant", f"{role.name} {obj}:{action}")
    await db.delete(rule)
    await db.flush()
    return Grant(role.name, f"{obj}:{action}")
