"""Credentials that name their own record: ``{prefix}_{tenant}_{id}_{secret}``.

The tenant and the record's id travel in the credential, so checking one is one read of that
record (an API key, a hook's secret URL); only the SHA-256 of the secret part is stored. The secret
is 192 random bits, so a plain SHA-256 is enough (no password stretching needed). Tenant ids hold
no '_', ids and secrets are hex: the four parts split without ambiguity."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from crm.domain.model import TENANT_PATTERN

_ID = re.compile(r"^[0-9a-f]{8}$")
_SECRET = re.compile(r"^[0-9a-f]{48}$")


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_id() -> str:
    return secrets.token_hex(4)


@dataclass(frozen=True)
class Credential:
    prefix: str
    tenant_id: str
    id: str  # the id of the record holding the secret's hash
    secret: str

    def __str__(self) -> str:
        return f"{self.prefix}_{self.tenant_id}_{self.id}_{self.secret}"

    @property
    def secret_hash(self) -> str:
        return secret_hash(self.secret)

    def opens(self, stored_hash: str | None) -> bool:
        """True if ``stored_hash`` is this secret's (compared in constant time)."""
        return stored_hash is not None and hmac.compare_digest(stored_hash, self.secret_hash)

    @classmethod
    def issue(cls, prefix: str, tenant_id: str, record_id: str | None = None) -> Credential:
        """A new secret for the record ``record_id`` (a new record id when none is given)."""
        return cls(prefix, tenant_id, record_id or new_id(), secrets.token_hex(24))

    @classmethod
    def parse(cls, prefix: str, text: str) -> Credential | None:
        """The credential ``text`` spells, None for anything that is not one of ``prefix``."""
        parts = text.split("_")
        if len(parts) != 4 or parts[0] != prefix:
            return None
        _, tenant_id, record_id, secret = parts
        if not (TENANT_PATTERN.match(tenant_id) and _ID.match(record_id) and _SECRET.match(secret)):
            return None
        return cls(prefix, tenant_id, record_id, secret)
