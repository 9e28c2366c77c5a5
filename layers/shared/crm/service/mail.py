"""Inbound mail: each tenant has an address ``{tenant}+{token}@{inbound domain}`` (the token is the
verified secret that names the tenant). A message sent there lands on the timeline of every item
whose contact wrote it, when SES's verdicts authenticate the sender (the rule: ``crm.domain.mail``);
mail whose sender they do not authenticate is kept as the tenant's unverified mail, on no item.

A message from an authenticated sender is the trigger event *incoming email* (event id: the
message's key, so once per Message-ID), through ``apply_trigger_event``: the sender's open items in
pipelines with such triggers may move; a reply to CRM mail applies to that mail's item. A sender no
item has gets the item the tenant's mail source settings say (``crm.service.sources``: e.g. a lead
in "Unprocessed", titled by the subject), with the message on its timeline; or none. Mail whose
sender is not authenticated is journaled for the tenant as not applied, saying why, and never
applied.

The message lands on every item of the sender and every item its event reaches, written in the
event's own transactions (the engine's ``per_item`` records): once per message and item, whatever
the delivery (SES redelivers, SMTP senders retry), by a marker of the message on each item written
with its entry. A redelivery is so refused at its first write, and records the message only where
it is missing (an item that got the sender's address since). A write that fails for any other
reason (throttled, refused as invalid) propagates, so Lambda retries the delivery and its DLQ keeps
what still fails.

Per delivery: the S3 read of the message and, for a known sender, the floor of an event by contact:
the Query of the contact index (shared with the engine), one BatchGetItem of the items in pipelines
with incoming_email triggers and a transaction per item reached, the first also holding the
message's entries (when none is reached: the read of the event's earlier answers and the tenant's
journal entry with the entries, one transaction); the mailbox token comes from the warm container.
A reply to CRM mail: the Query, the replied item's GetItem and one transaction. An unknown sender:
the Query, the settings' read, the new item's id and create, and the event's transaction with the
message on the new item.
"""

from __future__ import annotations

import hmac
from dataclasses import asdict, dataclass

from crm.adapters import items as item_store
from crm.adapters import mailbox, tenants
from crm.adapters.along import PerItem
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
from crm.domain.sources import Source
from crm.domain.trigger_events import Contact, ContactKind, ItemRef, TriggerEvent
from crm.service.outbound_mail import item_replied_to
from crm.service.sources import new_item
from crm.service.triggers import Applied, apply_trigger_event, journal_unapplied
from crm.triggers.incoming_email import INCOMING_EMAIL

# A message addressed to 1,000 mailboxes costs at most this many tenant look-ups...
TENANTS_PER_MESSAGE = 10
# ...and this many token comparisons per tenant.
ADDRESSES_PER_TENANT = 50


@dataclass(frozen=True)
class Received:
    """What one delivery did: for how many tenants, entries on how many items, kept unverified
    for how many tenants (0 each when refused or redelivered), items its trigger event moved and
    items created for its unknown sender (as the first delivery answered, on a redelivery)."""

    tenants: int = 0
    recorded: int = 0
    unverified: int = 0
    refused: bool = False  # SES's spam or virus verdict failed
    moved: int = 0
    new_items: int = 0  # created for an unknown sender

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
    applied: list[Applied] = []
    for tenant_id in addressed:
        if sender is None:
            unverified += _keep_unverified(tenant_id, UnverifiedMail.of(mail, delivery), source)
            _journal_unverified(tenant_id, mail, delivery)
        else:
            on_items, reached = _record_and_apply(tenant_id, sender, mail, delivery, source)
            recorded += on_items
            applied += reached
    moved, new_items = sum(a.moved for a in applied), sum(a.created for a in applied)
    return Received(len(addressed), recorded, unverified, moved=moved, new_items=new_items)


def _keep_unverified(tenant_id: str, mail: UnverifiedMail, source: str) -> int:
    try:
        mailbox.keep_unverified(tenant_id, mail, source)
    except AlreadyRecorded:
        return 0
    return 1


def _event(
    tenant_id: str,
    mail: InboundMail,
    delivery: Delivery,
    sender: str | None = None,
    thread: tuple[ItemRef, str] | None = None,
) -> TriggerEvent:
    """The message's *incoming email* event: by reference to the item of the CRM mail it answers
    (``thread``: the item, that mail's id), else by its sender."""
    return TriggerEvent(
        type=INCOMING_EMAIL.code,
        source=Source.MAIL.value,
        event_id=mail.key,
        tenant_id=tenant_id,
        occurred_at=delivery.received_at,
        item=None if thread is None else thread[0],
        contact=None if sender is None else Contact(ContactKind.EMAIL, sender),
        data={"message_id": mail.message_id, "reply_to": None if thread is None else thread[1]},
    )


def _journal_unverified(tenant_id: str, mail: InboundMail, delivery: Delivery) -> None:
    """The tenant's journal says why the message fired no trigger. Mail without one From address
    names no contact to journal it for: the unverified mail shows it, with its verdicts."""
    if mail.sender is None:
        return
    verdicts = delivery.verdicts
    why = (
        f"not applied: SES's verdicts do not authenticate the sender {mail.sender} (spf={verdicts.spf}, "
        f"dkim={verdicts.dkim}, dmarc={verdicts.dmarc}); kept as unverified mail"
    )
    journal_unapplied(_event(tenant_id, mail, delivery, sender=mail.sender), why)


def _thread(tenant_id: str, mail: InboundMail) -> tuple[ItemRef, str] | None:
    """The item of the CRM mail this message answers, and that mail's id; None for a new thread
    or one the CRM did not start (ids it did not sign)."""
    for message_id in mail.replies_to:
        if (item := item_replied_to(tenant_id, [message_id])) is not None:
            return item, message_id
    return None


def _record_and_apply(
    tenant_id: str, sender: str, mail: InboundMail, delivery: Delivery, source: str
) -> tuple[int, list[Applied]]:
    """The message's trigger event, with the message on the sender's items and on every item the
    event reaches (the item replied about, one created): a reply to CRM mail applies to that mail's
    item, other mail to the sender's items; a sender no item has gets the item the mail source
    settings say. How many items the message was recorded on now, and what the event did."""
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
    known = item_store.find_by_contact(tenant_id, f"email:{sender}")
    thread = _thread(tenant_id, mail)
    create = None
    if not known and thread is None:
        title = mail.subject or f"Mail from {mail.from_header or sender}"
        create = new_item(tenant_id, Source.MAIL, title, emails=[sender])
    on_items = PerItem(
        lambda type_code, item_id: item_store.entry_once(tenant_id, type_code, item_id, entry, source)
    )
    event = _event(tenant_id, mail, delivery, None if thread else sender, thread)
    applied = apply_trigger_event(event, new_item=create, found=known, per_item=on_items)
    return on_items.written, applied


def unverified_mail(
    tenant_id: str, limit: int, cursor: str | None
) -> tuple[list[UnverifiedMail], str | None]:
    """The tenant's unverified mail, newest first, a page at a time."""
    return mailbox.list_unverified(tenant_id, limit, cursor)
