"""Tenants and API keys: the operator creates a tenant with its first key (the operator key, scope
admin); keys are then managed through the API. A key is shown once; only its hash is kept.

Revocation takes effect at once for the key routes (they re-read the calling key), and within
60 s everywhere else: API Gateway caches the authorizer's answer per key (ReauthorizeEvery), so a
revoked key may still reach the rest of the API for up to a minute.

Throttling: each tenant has an API Gateway API key (its usage key) in the stack's usage plan; the
authorizer names it, and API Gateway throttles the tenant's requests by the plan's limits.

Sender identities: the operator grants a tenant the domains and addresses its mail may come from
(``crm.domain.senders``: SES's identities are the whole account's), when creating it or later, and
may withdraw them; a tenant's own keys cannot."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from crm.adapters import tenants as store
from crm.domain import clock
from crm.domain.credentials import Credential
from crm.domain.errors import Conflict, Invalid, NotFound, Unauthorized
from crm.domain.keys import ApiKey, Scope, UsageKey, check_may_issue, check_may_revoke
from crm.domain.model import Tenant
from crm.domain.senders import SenderIdentities


class UsagePlan(Protocol):
    """Where tenants' usage keys are made: the stack's API Gateway usage plan."""

    def subscribe(self, tenant_id: str) -> UsageKey:
        """A new usage key for the tenant, counted against the plan."""
        ...

    def unsubscribe(self, usage_key: UsageKey) -> None:
        """Deletes a usage key (undoes ``subscribe``)."""
        ...


@dataclass(frozen=True)
class IssuedKey:
    tenant_id: str
    key_id: str
    name: str
    scope: Scope
    api_key: str
    created_at: datetime


@dataclass(frozen=True)
class Authenticated:
    key: ApiKey
    usage_key: str | None  # the tenant's usage key value; None for tenants made before usage plans


# An API key reads crm_{tenant}_{key id}_{secret} (crm.domain.credentials).
KEY_PREFIX = "crm"


def _issue(tenant_id: str, name: str, scope: Scope, operator: bool = False) -> IssuedKey:
    credential = Credential.issue(KEY_PREFIX, tenant_id)
    key = ApiKey(tenant_id, credential.id, name, scope, clock.now(), operator=operator)
    store.save_key(key, credential.secret_hash)
    return IssuedKey(tenant_id, key.id, name, scope, str(credential), key.created_at)


def create_tenant(
    name: str,
    tenant_id: str | None = None,
    usage_plan: UsagePlan | None = None,
    senders: SenderIdentities = SenderIdentities(),
) -> IssuedKey:
    """A new tenant, granted ``senders``, and its operator key (operator command; never an open
    route). With a usage plan, the tenant's usage key is made first, and deleted again if the
    tenant cannot be."""
    tenant = Tenant(tenant_id or f"t-{secrets.token_hex(5)}", name, clock.now())
    usage_key = usage_plan.subscribe(tenant.id) if usage_plan else None
    try:
        store.create_tenant(tenant, mailbox_token=secrets.token_hex(8), usage_key=usage_key, senders=senders)
    except BaseException:
        if usage_plan and usage_key:
            usage_plan.unsubscribe(usage_key)
        raise
    return _issue(tenant.id, "operator", Scope.ADMIN, operator=True)


def attach_usage_plan(tenant_id: str, usage_plan: UsagePlan) -> UsageKey:
    """Gives a tenant made before usage plans its usage key (operator command)."""
    if usage_key_id(tenant_id) is not None:
        raise Conflict(f"tenant {tenant_id!r} has a usage key already")
    usage_key = usage_plan.subscribe(tenant_id)
    try:
        store.set_usage_key(tenant_id, usage_key)
    except BaseException:
        usage_plan.unsubscribe(usage_key)
        raise
    return usage_key


def sender_identities(tenant_id: str) -> SenderIdentities:
    """The sender identities granted to the tenant now. NotFound: no such tenant."""
    return store.sender_identities(tenant_id)


def grant_sender_identities(tenant_id: str, granted: SenderIdentities) -> SenderIdentities:
    """Grants the tenant more sender identities (operator command); all it has then."""
    if not granted:
        raise Invalid("name a sender domain or address to grant")
    return store.grant_sender_identities(tenant_id, granted)


def withdraw_sender_identities(tenant_id: str, withdrawn: SenderIdentities) -> SenderIdentities:
    """Withdraws sender identities from the tenant (operator command); all it has left. Mail from
    a sender they covered is refused from now on, until the tenant sets a sender still granted."""
    if not withdrawn:
        raise Invalid("name a sender domain or address to withdraw")
    return store.withdraw_sender_identities(tenant_id, withdrawn)


def usage_key_id(tenant_id: str) -> str | None:
    return store.usage_key_id(tenant_id)


def authenticate(api_key: str) -> Authenticated | None:
    """The key and its tenant's usage key for a valid, unrevoked key; None for anything else."""
    credential = Credential.parse(KEY_PREFIX, api_key)
    if credential is None:
        return None
    found = store.credential(credential.tenant_id, credential.id)
    if found is None:
        return None
    key, stored_hash, usage_key = found
    if key.revoked or not credential.opens(stored_hash):
        return None
    return Authenticated(key, usage_key)


def calling_key(tenant_id: str, key_id: str) -> ApiKey:
    """The calling key as stored now. API Gateway may let a revoked key through on a cached
    authorization; the key routes refuse it."""
    key = store.get_key(tenant_id, key_id)
    if key is None or key.revoked:
        raise Unauthorized("this API key has been revoked")
    return key


def issue_key(tenant_id: str, caller_key_id: str, name: str, scope: Scope | None = None) -> IssuedKey:
    """A new key of the given scope (default: the calling key's), never wider than the caller's."""
    caller = calling_key(tenant_id, caller_key_id)
    scope = scope or caller.scope
    check_may_issue(caller, scope)
    return _issue(tenant_id, name, scope)


def list_keys(tenant_id: str, caller_key_id: str) -> list[ApiKey]:
    """The tenant's keys in use (revoked ones are kept as an audit trail, not listed)."""
    calling_key(tenant_id, caller_key_id)
    return [key for key in store.list_keys(tenant_id) if not key.revoked]


def revoke_key(tenant_id: str, caller_key_id: str, key_id: str) -> None:
    caller = calling_key(tenant_id, caller_key_id)
    target = store.get_key(tenant_id, key_id)
    if target is None or target.revoked:
        raise NotFound(f"API key {key_id!r} does not exist")
    check_may_revoke(caller, target)
    store.revoke_key(tenant_id, key_id, clock.now(), revoked_by=caller.id)
