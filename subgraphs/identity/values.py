"""The identity subgraph's values and the rules on each: tenant type, status and class and user status
(the GraphQL enums), the tenant lifecycle, role descriptions, the password policy and argon2 hashing,
and normalised emails, domains and usernames. Pure, apart from hashing in a worker thread;
:mod:`subgraphs.identity.domain` builds the operations on them.
"""

from __future__ import annotations

import asyncio
import enum
import re
from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from subgraphs.common.caller import ADMIN, MANAGER, VIEWER, Caller
from subgraphs.common.errors import BadUserInput, Conflict


class TenantType(enum.Enum):
    """What kind of organisation a tenant is (values as in the BYO DPP handbook)."""

    KAM = "kam"
    MANUFACTURER = "manufacturer"
    SUPPLIER = "supplier"
    IMPORTER = "importer"
    DISTRIBUTOR = "distributor"
    DEALER = "dealer"
    RETAILER = "retailer"
    COLLECTOR = "collector"
    SORTER = "sorter"
    REFURBISHER = "refurbisher"
    OTHERS = "others"


class TenantStatus(enum.Enum):
    """Where a tenant is in its lifecycle."""

    INVITED = "invited"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ACTIVATED = "activated"
    DEACTIVATED = "deactivated"


class TenantClass(enum.Enum):
    """The tenant's plan."""

    STANDARD = "standard"
    PROFESSIONAL = "professional"
    ENTERPRISE = "enterprise"


class UserStatus(enum.Enum):
    """An invited user has no password yet; an active one may sign in; a deactivated one may not."""

    INVITED = "invited"
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


# The legal lifecycle: anything else is refused with these named.
TRANSITIONS: dict[TenantStatus, tuple[TenantStatus, ...]] = {
    TenantStatus.INVITED: (TenantStatus.ACCEPTED, TenantStatus.REJECTED),
    TenantStatus.ACCEPTED: (TenantStatus.ACTIVATED,),
    TenantStatus.REJECTED: (),
    TenantStatus.ACTIVATED: (TenantStatus.DEACTIVATED,),
    TenantStatus.DEACTIVATED: (TenantStatus.ACTIVATED,),
}
# Tenants one may not sign into: a rejected tenant never started, a deactivated one is suspended.
NO_SIGN_IN = (TenantStatus.REJECTED.value, TenantStatus.DEACTIVATED.value)

ROLE_DESCRIPTIONS: dict[str, str] = {
    ADMIN: "Manages the tenant: members, roles and everything a Manager may do",
    MANAGER: "Creates and edits the tenant's products, templates and passports",
    VIEWER: "Reads the tenant's data",
}

MIN_PASSWORD_LENGTH = 12
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
_HASHER = PasswordHasher()  # argon2id with the library's (RFC 9106) parameters; stateless
# Verified against when the email is unknown, so that a wrong email costs as much as a wrong password.
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$ekE8PUqaatVss6hur9M98w$JJ3Dy7TcAmct/5nwomDgSjAAtJPqGBI3R5NyHNCROvQ"
INVALID_CREDENTIALS = "Invalid email or password"


# -- values -----------------------------------------------------------------------------------


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def password_problems(password: str) -> list[str]:
    """The rules of the password policy that ``password`` does not meet (empty when it is fine)."""
    unmet = []
    if len(password) < MIN_PASSWORD_LENGTH:
        unmet.append(f"at least {MIN_PASSWORD_LENGTH} characters")
    if not any(c.islower() for c in password):
        unmet.append("a lower case letter")
    if not any(c.isupper() for c in password):
        unmet.append("an upper case letter")
    if not any(c.isdigit() for c in password):
        unmet.append("a digit")
    return unmet


def check_password(password: str) -> None:
    """``BAD_USER_INPUT`` naming every unmet rule of the password policy."""
    unmet = password_problems(password)
    if unmet:
        raise BadUserInput(f"password needs {_join(unmet)}", field="password", unmet=unmet)


async def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (computed off the event loop: it is deliberately slow)."""
    return await asyncio.to_thread(_HASHER.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; costs the same when there is no hash to check."""

    def verify() -> bool:
        try:
            return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with other parameters than today's (rehash at the next sign-in)."""
    return _HASHER.check_needs_rehash(password_hash)


def normalise_email(email: str) -> str:
    """The lower-case email; ``BAD_USER_INPUT`` when it is not one."""
    value = email.strip().lower()
    if not _EMAIL.match(value) or len(value) > 254:
        raise BadUserInput(f"{email!r} is not an email address", field="email")
    return value


def normalise_domain(domain: str) -> str:
    """The lower-case domain name; ``BAD_USER_INPUT`` when it is not one."""
    value = domain.strip().lower().rstrip(".")
    if not _DOMAIN.match(value):
        raise BadUserInput(f"{domain!r} is not a domain name (like 'example.com')", field="domain")
    return value


def normalise_username(username: str) -> str:
    """The lower-case username; ``BAD_USER_INPUT`` unless 2-40 of a-z, 0-9, '.', '_', '-'."""
    value = username.strip().lower()
    if not USERNAME_PATTERN.match(value):
        raise BadUserInput(
            f"username {username!r} must be 2-40 characters of a-z, 0-9, '.', '_' or '-', "
            "starting with a letter or digit",
            field="username",
        )
    return value


def required_text(field: str, value: str, max_length: int = 200) -> str:
    """``value`` stripped; ``BAD_USER_INPUT`` when blank or too long."""
    text = value.strip()
    if not text:
        raise BadUserInput(f"{field} must not be blank", field=field)
    if len(text) > max_length:
        raise BadUserInput(f"{field} must be at most {max_length} characters", field=field)
    return text


def check_transition(current: str, wanted: TenantStatus) -> None:
    """``CONFLICT`` unless ``current -> wanted`` is a legal lifecycle step; the message names the legal ones."""
    allowed = TRANSITIONS[TenantStatus(current)]
    if wanted not in allowed:
        names = ", ".join(s.value for s in allowed) or "none"
        raise Conflict(
            f"cannot change status from {current} to {wanted.value}; allowed: {names}",
            allowed=[s.name for s in allowed],
        )


def sees_tenant_details(caller: Caller, own_tenant_ids: Sequence[str], tenant_id: str) -> bool:
    """Members and platform administrators see a tenant's details; others only its public face."""
    return caller.platform_admin or tenant_id in own_tenant_ids
