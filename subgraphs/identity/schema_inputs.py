"""The identity subgraph's GraphQL inputs: onboarding a tenant with its first Admin, inviting a person."""

from __future__ import annotations

import strawberry

from subgraphs.identity import (
    schema_types,  # noqa: F401  registers the domain enums as GraphQL enums first
)
from subgraphs.identity.domain import TenantClass, TenantType


@strawberry.input(description="The first administrator of a new tenant")
class TenantAdminInput:
    email: str
    name: str
    username: str
    password: str


@strawberry.input(description="A tenant to onboard")
class OnboardTenantInput:
    name: str
    domain: str
    type: TenantType
    admin: TenantAdminInput
    tenant_class: TenantClass = TenantClass.STANDARD
    parent_id: strawberry.ID | None = None


@strawberry.input(description="A person to add to the active tenant")
class InviteUserInput:
    email: str
    roles: list[str]
    name: str = ""
    username: str | None = strawberry.field(default=None, description="Derived from the email when left out")
