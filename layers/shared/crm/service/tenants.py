"""Tenants and API keys: the operator creates a tenant with its first key; keys are then managed
through the API. A key is shown once; only its hash is kept."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from crm.adapters import tenants as store
from crm.domain import clock
from crm.domain.model import TENANT_PATTERN, Tenant


@dataclass(frozen=True)
class IssuedKey:
    tenant_id: str
    key_id: str
    name: str
    api_key: str
    created_at: datetime


def _hash(secret: str) -> str:
    # The secret is 192 random bits, so a plain SHA-256 is enough (no password stretching needed).
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_key(tenant_id: str, name: str) -> IssuedKey:
    key_id, secret = secrets.token_hex(4), secrets.token_hex(24)
    created_at = clock.now()
    store.save_key(tenant_id, key_id, name, _hash(secret), created_at)
    return IssuedKey(tenant_id, key_id, name, f"crm_{tenant_id}_{key_id}_{secret}", created_at)


def create_tenant(name: str, tenant_id: str | None = None) -> IssuedKey:
    """A new tenant and its first API key (operator command; never an open route)."""
    tenant = Tenant(tenant_id or f"t-{secrets.token_hex(5)}", name, clock.now())
    store.create_tenant(tenant, mailbox_token=secrets.token_hex(8))
    return issue_key(tenant.id, "operator")


def authenticate(api_key: str) -> tuple[str, str] | None:
    """(tenant id, key id) for a valid key, None for anything else."""
    parts = api_key.split("_")
    if len(parts) != 4 or parts[0] != "crm" or not TENANT_PATTERN.match(parts[1]):
        return None
    _, tenant_id, key_id, secret = parts
    if len(key_id) != 8 or len(secret) != 48:
        return None
    stored = store.key_hash(tenant_id, key_id)
    if stored is None or not hmac.compare_digest(stored, _hash(secret)):
        return None
    return tenant_id, key_id
