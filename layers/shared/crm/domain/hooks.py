"""Webhook triggers' hooks: a tenant's secret URLs another system calls to fire *webhook* triggers
(Bitrix24's ``/rest/{user}/{secret}/crm.automation.trigger``).

A hook's secret is a credential (``crmhook_{tenant}_{hook id}_{secret}``) shown once; only its hash
is kept. Rotating gives a new secret and keeps the previous one valid for a grace period (or until
it is revoked), so the caller can switch over without a missed call: two secrets open a hook
during a rotation, never more (a second rotation within the grace period retires the oldest).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from crm.domain.credentials import Credential
from crm.domain.errors import Invalid

SECRET_PREFIX = "crmhook"
DEFAULT_GRACE = timedelta(hours=24)
MAX_GRACE = timedelta(days=30)


@dataclass(frozen=True)
class Hook:
    tenant_id: str
    id: str
    name: str
    created_at: datetime
    secret_hash: str
    rotated_at: datetime | None = None
    previous_hash: str | None = None  # the secret before the last rotation ...
    previous_valid_until: datetime | None = None  # ... and until when it still opens the hook
    revoked_at: datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not 1 <= len(self.name.strip()) <= 200:
            raise Invalid("hook name: 1-200 characters")

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def previous_open(self, now: datetime) -> bool:
        return (
            self.previous_hash is not None
            and self.previous_valid_until is not None
            and now < self.previous_valid_until
        )

    def opens(self, credential: Credential, now: datetime) -> datetime | None:
        """Until when ``credential`` opens this hook (the far future for the current secret), or None
        when it does not: another hook's or tenant's, a retired or revoked secret."""
        if self.revoked or (credential.tenant_id, credential.id) != (self.tenant_id, self.id):
            return None
        if credential.opens(self.secret_hash):
            return datetime.max.replace(tzinfo=now.tzinfo)
        if self.previous_open(now) and credential.opens(self.previous_hash):
            return self.previous_valid_until
        return None

    def rotated(self, new_hash: str, now: datetime, grace: timedelta) -> Hook:
        """The hook with a new current secret; the one it replaces opens it for ``grace`` more."""
        if not timedelta(0) <= grace <= MAX_GRACE:
            raise Invalid(f"grace: from 0 to {MAX_GRACE.days} days")
        keep = grace > timedelta(0)
        return replace(
            self,
            secret_hash=new_hash,
            rotated_at=now,
            previous_hash=self.secret_hash if keep else None,
            previous_valid_until=now + grace if keep else None,
        )

    def without_previous(self) -> Hook:
        return replace(self, previous_hash=None, previous_valid_until=None)
