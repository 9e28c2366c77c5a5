"""API keys and their scopes: what a key may reach, and which keys it may mint or revoke.

A scope is the set of API paths it covers, written as API Gateway writes the resources of an
authorizer's policy ('*' spans any number of path segments). The authorizer turns these patterns
into its policy and the API checks the same patterns again, so both follow this one table. A new
scope is one line here; which scope includes which follows from the paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from fnmatch import fnmatchcase

from crm.domain.errors import Forbidden


class Scope(StrEnum):
    ADMIN = "admin"  # everything: API keys, configuration, items
    ITEMS = "items"  # items, their stages, timeline and comments; bookings (a booking system's key)

    @property
    def paths(self) -> tuple[str, ...]:
        return _PATHS[self]

    def allows(self, path: str) -> bool:
        return any(fnmatchcase(path, pattern) for pattern in self.paths)

    def includes(self, other: Scope) -> bool:
        """True if this scope reaches everything ``other`` reaches (a pattern is a path too)."""
        return all(self.allows(pattern) for pattern in other.paths)


_PATHS = {Scope.ADMIN: ("/*",), Scope.ITEMS: ("/items", "/items/*", "/bookings")}


@dataclass(frozen=True)
class ApiKey:
    tenant_id: str
    id: str
    name: str
    scope: Scope
    created_at: datetime
    # The tenant's first key, issued by the operator command: only an operator key revokes it.
    operator: bool = False
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True)
class UsageKey:
    """The tenant's API Gateway API key, by which API Gateway counts its requests against the usage
    plan (the authorizer names it; clients never see or send it)."""

    id: str
    value: str


def check_may_issue(caller: ApiKey, scope: Scope) -> None:
    if not caller.scope.includes(scope):
        raise Forbidden(f"a key of scope {caller.scope!s} cannot create a key of the wider scope {scope!s}")


def check_may_revoke(caller: ApiKey, target: ApiKey) -> None:
    if target.operator and not caller.operator:
        raise Forbidden(f"API key {target.id!r} is the operator's: only an operator key can revoke it")
    if not caller.scope.includes(target.scope):
        raise Forbidden(
            f"a key of scope {caller.scope!s} cannot revoke API key {target.id!r} of the wider scope "
            f"{target.scope!s}"
        )
