"""Inbound mail: each tenant has an address ``{tenant}+{token}@{inbound domain}`` (the token is the
verified secret that names the tenant). A message sent there lands on the timeline of every item
whose contact wrote it, when SES's verdicts authenticate the sender (the rule: ``crm.domain.mail``);
mail whose sender they do not authenticate is kept as the tenant's unverified mail, on no item.

Once per message id, whatever the delivery (SES redelivers, SMTP senders retry): each place a
message is recorded carries a marker of it, written in the same transaction, one transaction for
all the sender's items, so that a redelivery is one refused write. A write that fails for any other
reason (throttled, refused as invalid) propagates, so Lambda retries the delivery and its DLQ keeps
what still fails; a retry records only what is missing.

Per delivery: the S3 read of the message, the Query of the contact index (whose records carry what
an entry needs) and that one write; the mailbox token comes from the warm container.
"""

from __future__ import annotations

import hmac
from dataclasses import asdict, dataclass

from crm.adapters import items as item_store
from crm.adapters import mailbox, tenants
from crm.domain.errors import AlreadyRecorded
from crm.domain.mail import (
    Delivery,
    InboundMail,
    UnverifiedMail,
    authenticated_sender,
    mailbox_of,
    parse_inbound,
)
from crm.domain.model import TimelineEntry, TimelineKind

# A message addressed to 1,000 mailboxes costs at most this many tenant look-ups...
TENANTS_PER_MESSAGE = 10
# ...and this many token comparisons per tenant.
ADDRESSES_PER_TENANT = 50


@dataclass(frozen=True)
class Received:
    """What one delivery did: for how many tenants, entries on how many items, kept unverified
    for how many tenants (0 each when refused or redelivered)."""

    tenants: int = 0
    recorded: int = 0
    unverified: int = 0
    refused: bool = False  # SES's spam or virus verdict failed

    def to_dict(self) -> dict[str, int | bool]:
        return asdict(self)


def mailbox_address(tenant_id: str, domain: str) -> str | None:
    token = tenants.mailbox_token(tenant_id)
    return f"{tenant_id}+{token}@{domain}" if token else None


def addressed_tenants(recipients: tuple[str, ...], domain: str) -> list[str]:
    """The tenants whose mailbox is among ``recipients`` with its right token: one look-up per
    tenant, for the first TENANTS_PER_MESSAGE tenants and ADDRESSES_PER_TENANT addresses each."""
    tokens: dict[str, list[str]] = {}
    for recipient in recipients:
        if (mailbox := mailbox_of(recipient, domain)) is None:
            continue
        tenant_id, token = mailbox
        if tenant_id in tokens or len(tokens) < TENANTS_PER_MESSAGE:
            candidates = tokens.setdefault(tenant_id, [])
            if len(candidates) < ADDRESSES_PER_TENANT:
                candidates.append(token)
    return [tenant_id for tenant_id, candidates in tokens.items() if _token_matches(tenant_id, candidates)]


def _token_matches(tenant_id: str, candidates: list[str]) -> bool:
    """Against the token the warm container keeps; on a miss against the stored one, read once (it
    may have been replaced since)."""

    def matches(token: str | None) -> bool:
        return token is not None and any(hmac.compare_digest(token.encode(), c.encode()) for c in candidates)

    kept = tenants.kept_mailbox_token(tenant_id)
    if matches(kept):
        return True
    stored = tenants.mailbox_token(tenant_id)
    return stored != kept and matches(stored)


def receive(delivery: Delivery, domain: str) -> Received:
    """Records one delivery for every tenant it is addressed to (see the module docstring)."""
    if delivery.verdicts.refused:
        return Received(refused=True)
    addressed = addressed_tenants(delivery.recipients, domain)
    if not addressed:
        return Received()
    mail = parse_inbound(mailbox.read_raw(delivery.bucket, delivery.key), delivery.ses_message_id)
    sender = authenticated_sender(mail, delivery.verdicts, delivery.envelope_sender)
    source = f"mail:{mail.key}"
    recorded = unverified = 0
    for tenant_id in addressed:
        if sender is None:
            unverified += _keep_unverified(tenant_id, UnverifiedMail.of(mail, delivery), source)
        else:
            recorded += _record_on_items(tenant_id, sender, mail, delivery, source)
    return Received(len(addressed), recorded, unverified)


def _keep_unverified(tenant_id: str, mail: UnverifiedMail, source: str) -> int:
    try:
        mailbox.keep_unverified(tenant_id, mail, source)
    except AlreadyRecorded:
        return 0
    return 1


def _record_on_items(tenant_id: str, sender: str, mail: InboundMail, delivery: Delivery, source: str) -> int:
    entry = TimelineEntry(
        mail.key,
        TimelineKind.EMAIL_RECEIVED,
        delivery.received_at,
        None,
        {
            "from": sender,
            "subject": mail.subject,
            "message_id": mail.message_id,
            "snippet": mail.snippet,
            "raw": delivery.raw,
        },
    )
    return item_store.add_entries_once(
        tenant_id, item_store.find_by_contact(tenant_id, f"email:{sender}"), entry, source
    )


def unverified_mail(
    tenant_id: str, limit: int, cursor: str | None
) -> tuple[list[UnverifiedMail], str | None]:
    """The tenant's unverified mail, newest first, a page at a time."""
    return mailbox.list_unverified(tenant_id, limit, cursor)
