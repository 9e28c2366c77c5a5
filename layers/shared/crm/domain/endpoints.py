"""Ids of a tenant's public endpoints: ``{prefix}_{tenant}_{12 hex}`` (``pa`` a payment account,
``tl`` a telephony line). A provider's request names only the endpoint, and its id names the tenant,
so the endpoint is found with one read under the tenant's key; the random part keeps ids unguessable
enough that a wrong one is a 404 rather than someone else's endpoint (the signature is the proof)."""

from __future__ import annotations

import re
import secrets

PAYMENT_ACCOUNT = "pa"
TELEPHONY_LINE = "tl"


def pattern(prefix: str) -> str:
    """The ids of one kind of endpoint, as a regular expression (for the API's path parameters)."""
    return rf"^{prefix}_([a-z0-9][a-z0-9-]{{2,39}})_([0-9a-f]{{12}})$"


def new_id(prefix: str, tenant_id: str) -> str:
    return f"{prefix}_{tenant_id}_{secrets.token_hex(6)}"


def tenant_of(prefix: str, endpoint_id: str) -> str | None:
    """The tenant an id of this kind names, or None when it is not one."""
    match = re.match(pattern(prefix), endpoint_id or "")
    return match.group(1) if match else None
