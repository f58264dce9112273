"""Idempotent demo data: the tenants, users, default roles and memberships of ``subgraphs.common.demo``."""

from __future__ import annotations

import asyncio

from subgraphs.common import demo
from subgraphs.common.caller import DEFAULT_ROLES
from subgraphs.common.db import Database
from subgraphs.common.ids import stable_id
from subgraphs.common.settings import Settings
from subgraphs.identity.domain import ROLE_DESCRIPTIONS, UserStatus, hash_password
from subgraphs.identity.models import Membership, Role, RoleGrant, Tenant, User
from subgraphs.identity.policies import default_rules as default_policy_rules
from subgraphs.identity.policies import tenant_rules


def role_id(tenant_key: str, name: str) -> str:
    """The id of a demo tenant's default role."""
    return stable_id("role", tenant_key, name)


def membership_id(tenant_key: str, user_key: str) -> str:
    """The id of a demo membership."""
    return stable_id("membership", tenant_key, user_key)


class DemoSeedRefused(RuntimeError):
    """The demo accounts' passwords are public: they are never created outside development."""


def check_environment(settings: Settings) -> None:
    """``DemoSeedRefused`` unless ``DPP_ENV`` is development."""
    environment = getattr(settings, "environment", "development")
    if environment != "development":
        raise DemoSeedRefused(
            f"refusing to seed the demo accounts with DPP_ENV={environment}: their passwords are published in "
            "the README. Start without seeding (SEED=0) and onboard real tenants instead."
        )


async def seed(database: Database, settings: Settings) -> None:
    """Write the demo identity data, skipping rows that already exist (development only)."""
    check_environment(settings)
    async with database.system_session() as session:
        # Parents first, so the foreign key of a child tenant always finds its parent.
        for tenant in sorted(demo.TENANTS, key=lambda t: t.parent_key is not None):
            if await session.get(Tenant, tenant.id) is None:
                session.add(
                    Tenant(
                        id=tenant.id,
                        name=tenant.name,
                        domain=tenant.domain,
                        type=tenant.type,
                        status=tenant.status,
                        tenant_class=tenant.tenant_class,
                        parent_id=demo.tenant(tenant.parent_key).id if tenant.parent_key else None,
                    )
                )
                await session.flush()
            for name in DEFAULT_ROLES:
                if await session.get(Role, role_id(tenant.key, name)) is None:
                    session.add(
                        Role(
                            id=role_id(tenant.key, name),
                            tenant_id=tenant.id,
                            name=name,
                            description=ROLE_DESCRIPTIONS[name],
                        )
                    )
            # Compared by content: the migration gave tenants that existed before it their defaults already.
            existing = {(r.role, r.object, r.action) for r in await tenant_rules(session, tenant.id)}
            for rule in default_policy_rules(tenant.id):
                if (rule.role, rule.object, rule.action) not in existing:
                    rule.id = stable_id("policy", tenant.key, rule.role, rule.object, rule.action)
                    session.add(rule)
        await session.flush()
        missing = [user for user in demo.USERS if await session.get(User, user.id) is None]
        # argon2 is deliberately slow: hash the missing users' passwords side by side.
        hashes = dict(
            zip(
                [user.key for user in missing],
                await asyncio.gather(*(hash_password(user.password) for user in missing)),
                strict=True,
            )
        )
        for user in demo.USERS:
            if user.key in hashes:
                session.add(
                    User(
                        id=user.id,
                        email=user.email,
                        name=user.name,
                        username=user.key,
                        status=UserStatus.ACTIVE.value,
                        password_hash=hashes[user.key],
                        platform_admin=user.platform_admin,
                    )
                )
                await session.flush()
            for tenant_key, roles in user.memberships:
                mid = membership_id(tenant_key, user.key)
                if await session.get(Membership, mid) is None:
                    # Flushed one by one so that creation times order a user's memberships as listed.
                    session.add(Membership(id=mid, tenant_id=demo.tenant(tenant_key).id, user_id=user.id))
                    await session.flush()
                    for name in roles:
                        session.add(
                            RoleGrant(
                                id=stable_id("grant", tenant_key, user.key, name),
                                tenant_id=demo.tenant(tenant_key).id,
                                membership_id=mid,
                                role_id=role_id(tenant_key, name),
                            )
                        )
