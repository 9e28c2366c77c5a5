"""Inbound mail: each tenant has an address ``{tenant}+{token}@{inbound domain}``; a message sent
there lands on the timeline of every item whose contact wrote it (the inbound-email trigger will
also move those items). The token is the verified secret that names the tenant."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from crm.adapters import items as item_store
from crm.adapters import tenants
from crm.domain.errors import StaleWrite
from crm.domain.mail import InboundMail
from crm.domain.model import TENANT_PATTERN, Item, TimelineEntry, TimelineKind


def mailbox_address(tenant_id: str, domain: str) -> str | None:
    token = tenants.mailbox_token(tenant_id)
    return f"{tenant_id}+{token}@{domain}" if token else None


def tenant_of(recipient: str, domain: str) -> str | None:
    """The tenant whose inbound address this is, or None (unknown tenant or wrong token)."""
    local, _, host = recipient.strip().lower().rpartition("@")
    tenant_id, _, token = local.partition("+")
    if host != domain.lower() or not TENANT_PATTERN.match(tenant_id) or not token:
        return None
    stored = tenants.mailbox_token(tenant_id)
    return tenant_id if stored and hmac.compare_digest(stored, token) else None


def record_inbound(tenant_id: str, mail: InboundMail, received_at: datetime, raw_key: str) -> list[Item]:
    """Adds an ``email_received`` entry to each item of the senders; a redelivered message
    (same message id) adds nothing. Returns the items the message was recorded on."""
    # The entry id comes from the message id, so the same mail maps onto the same timeline record.
    entry_id = hashlib.sha256(mail.message_id.encode()).hexdigest()[:16]
    recorded = []
    for sender in mail.senders:
        for item in item_store.find_by_contact(tenant_id, f"email:{sender}"):
            entry = TimelineEntry(
                entry_id,
                TimelineKind.EMAIL_RECEIVED,
                received_at,
                None,
                {
                    "from": sender,
                    "subject": mail.subject,
                    "message_id": mail.message_id,
                    "snippet": mail.snippet,
                    "raw": raw_key,
                },
            )
            try:
                item_store.add_entry(tenant_id, item, entry)
            except StaleWrite:
                continue  # recorded by an earlier delivery of this message
            recorded.append(item)
    return recorded
