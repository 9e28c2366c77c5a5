"""Storage of mail sent from the CRM: each tenant's tracking signing key and sender identity (tenants
table), and a record per sent message with the addresses of its tracked links (items table).

    signing key  pk={tenant}                  sk=TRACKING_KEY   (the HMAC key of its tracking tokens)
    sender       pk={tenant}                  sk=SENDER         (address and display name of its mail)
    sent mail    pk={tenant}#MAIL#{message}   sk=MESSAGE        (item, recipient, subject, links,
                 the request's hash and the answer once sent; state sending | sent)

The signing key is kept as it is, not hashed: the CRM signs with it, and the tables are encrypted
at rest. Sent-mail records do not expire: a link in a mail keeps working as long as the CRM runs.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.attributes import JSONAttribute, ListAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from crm.adapters.items import timeline_record
from crm.adapters.tables import ItemsTableRecord, TenantsTableRecord, connection
from crm.adapters.transactions import refusal
from crm.domain.errors import Conflict
from crm.domain.model import Item, TimelineEntry
from crm.domain.outbound import Sender
from crm.domain.trigger_events import ItemRef

KEY_SK = "TRACKING_KEY"
SENDER_SK = "SENDER"
MESSAGE_SK = "MESSAGE"


class SigningKeyRecord(TenantsTableRecord):
    signing_key = UnicodeAttribute()  # base64


class SenderRecord(TenantsTableRecord):
    address = UnicodeAttribute()
    display_name = UnicodeAttribute(null=True)


class SentMailRecord(ItemsTableRecord):
    item_type = UnicodeAttribute()
    item_id = UnicodeAttribute()
    state = UnicodeAttribute()  # sending | sent
    request_hash = UnicodeAttribute()
    created_at = UnicodeAttribute()
    links = ListAttribute(of=UnicodeAttribute, default=list)
    answer = JSONAttribute(null=True)  # what the send answered, once sent


# ---------------------------------------------------------------- signing key


def signing_key(tenant_id: str) -> bytes | None:
    try:
        record = SigningKeyRecord.get(tenant_id, KEY_SK, consistent_read=True)
    except DoesNotExist:
        return None
    return base64.b64decode(record.signing_key)


def add_signing_key(tenant_id: str, key: bytes, at: datetime) -> bytes:
    """Stores ``key`` unless the tenant has one; the key that is stored after (a racing sender's
    may have won: both then sign with the same)."""
    record = SigningKeyRecord(
        pk=tenant_id,
        sk=KEY_SK,
        name="tracking signing key",
        created_at=at.isoformat(),
        signing_key=base64.b64encode(key).decode(),
    )
    try:
        record.save(condition=SigningKeyRecord.pk.does_not_exist())
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        stored = signing_key(tenant_id)
        assert stored is not None, "a signing key, once stored, is never deleted"
        return stored
    return key


# ---------------------------------------------------------------- sender identity


def sender(tenant_id: str) -> Sender | None:
    try:
        record = SenderRecord.get(tenant_id, SENDER_SK, consistent_read=True)
    except DoesNotExist:
        return None
    return Sender(record.address, record.display_name)


def set_sender(tenant_id: str, value: Sender, at: datetime) -> None:
    SenderRecord(
        pk=tenant_id,
        sk=SENDER_SK,
        name="sender identity",
        created_at=at.isoformat(),
        address=value.address,
        display_name=value.display_name,
    ).save()


# ---------------------------------------------------------------- sent mail


@dataclass(frozen=True)
class SentMail:
    message_id: str
    item: ItemRef
    state: str
    request_hash: str
    links: tuple[str, ...]
    answer: dict[str, Any] | None


def _mail_pk(tenant_id: str, message_id: str) -> str:
    return f"{tenant_id}#MAIL#{message_id}"


def _sent_mail(record: SentMailRecord) -> SentMail:
    return SentMail(
        record.pk.rsplit("#", 1)[1],
        ItemRef(record.item_type, record.item_id),
        record.state,
        record.request_hash,
        tuple(record.links or ()),
        record.answer,
    )


def sent_mail(tenant_id: str, message_id: str) -> SentMail | None:
    try:
        return _sent_mail(
            SentMailRecord.get(_mail_pk(tenant_id, message_id), MESSAGE_SK, consistent_read=True)
        )
    except DoesNotExist:
        return None


def reserve(tenant_id: str, mail: SentMail, at: datetime) -> None:
    """Records ``mail`` as being sent; Conflict if its message id is on record already."""
    record = SentMailRecord(
        pk=_mail_pk(tenant_id, mail.message_id),
        sk=MESSAGE_SK,
        kind="sent_mail",
        tenant_id=tenant_id,
        item_type=mail.item.type,
        item_id=mail.item.id,
        state="sending",
        request_hash=mail.request_hash,
        created_at=at.isoformat(),
        links=list(mail.links),
    )
    try:
        record.save(condition=SentMailRecord.pk.does_not_exist())
    except PutError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise Conflict(f"message {mail.message_id} is on record already") from None
        raise


def release(tenant_id: str, message_id: str) -> None:
    """Forgets a reservation whose mail was not sent (the mail service refused it)."""
    try:
        SentMailRecord(pk=_mail_pk(tenant_id, message_id), sk=MESSAGE_SK).delete(
            condition=SentMailRecord.state == "sending"
        )
    except DeleteError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise


def record_sent(
    tenant_id: str, item: Item, message_id: str, entry: TimelineEntry, answer: dict[str, Any]
) -> None:
    """The reserved mail marked sent, with its answer, and its entry on the item's timeline: one
    transaction. Conflict if it is not reserved (any more)."""
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.update(
                SentMailRecord(pk=_mail_pk(tenant_id, message_id), sk=MESSAGE_SK),
                actions=[SentMailRecord.state.set("sent"), SentMailRecord.answer.set(answer)],
                condition=SentMailRecord.state == "sending",
            )
            transaction.save(timeline_record(tenant_id, item, entry))
    except TransactWriteError as error:
        raise refusal(error, {0: Conflict(f"message {message_id} is not being sent")}) from None
