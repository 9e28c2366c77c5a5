"""Storage of mail sent from the CRM: each tenant's tracking signing keys and sender identity (tenants
table), and a record per sent message with the addresses of its tracked links (items table).

    signing keys pk={tenant}                  sk=TRACKING_KEY   (the HMAC keys of its tracking tokens:
                 the current key, and after a rotation the previous one with its end of grace)
    sender       pk={tenant}                  sk=SENDER         (address and display name of its mail;
                 read with the tenant's record, sk=TENANT, which holds the identities it may use)
    sent mail    pk={tenant}#MAIL#{message}   sk=MESSAGE        (item, recipient, subject, links,
                 the request's hash and the answer once sent; state sending | sent)

The signing keys are kept as they are, not hashed: the CRM signs with them, and the tables are
encrypted at rest. A key retired (by a rotation or by hand) is removed from the record; one whose
grace period ran out verifies nothing and is removed by the next rotation. Sent-mail records do
not expire: a link in a mail keeps working as long as the CRM runs.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.attributes import JSONAttribute, ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from crm.adapters.items import ITEM_SK, from_record, item_pk, timeline_record
from crm.adapters.tables import ItemRecord, ItemsTableRecord, TenantsTableRecord, connection
from crm.adapters.tenants import TENANT_SK, TenantRecord, identities_of
from crm.adapters.transactions import condition_failed, refusal, refused_as
from crm.domain.errors import Conflict
from crm.domain.model import Item, TimelineEntry
from crm.domain.outbound import Sender
from crm.domain.senders import SenderIdentities
from crm.domain.tracking import KeyRing, SigningKey
from crm.domain.trigger_events import ItemRef

KEY_SK = "TRACKING_KEY"
SENDER_SK = "SENDER"
MESSAGE_SK = "MESSAGE"


class SigningKeyRecord(TenantsTableRecord):
    key_id = NumberAttribute()
    signing_key = UnicodeAttribute()  # base64
    key_created_at = UnicodeAttribute()
    rotated_at = UnicodeAttribute(null=True)
    previous_key_id = NumberAttribute(null=True)
    previous_key = UnicodeAttribute(null=True)  # base64
    previous_created_at = UnicodeAttribute(null=True)
    previous_valid_until = UnicodeAttribute(null=True)


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


# ---------------------------------------------------------------- signing keys


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _material(text: str) -> bytes:
    return base64.b64decode(text)


def _text(material: bytes) -> str:
    return base64.b64encode(material).decode()


def _key_values(ring: KeyRing) -> dict[str, Any]:
    """The record's attributes of ``ring`` (None: absent)."""
    previous = ring.previous
    return {
        "key_id": ring.current.id,
        "signing_key": _text(ring.current.material),
        "key_created_at": ring.current.created_at.isoformat(),
        "rotated_at": _iso(ring.rotated_at),
        "previous_key_id": None if previous is None else previous.id,
        "previous_key": None if previous is None else _text(previous.material),
        "previous_created_at": None if previous is None else previous.created_at.isoformat(),
        "previous_valid_until": _iso(ring.previous_valid_until),
    }


def _key_ring(record: SigningKeyRecord) -> KeyRing:
    current = SigningKey(
        int(record.key_id), _material(record.signing_key), datetime.fromisoformat(record.key_created_at)
    )
    previous = None
    if record.previous_key_id is not None:
        previous = SigningKey(
            int(record.previous_key_id),
            _material(record.previous_key),
            datetime.fromisoformat(record.previous_created_at),
        )
    return KeyRing(record.pk, current, _time(record.rotated_at), previous, _time(record.previous_valid_until))


def key_ring(tenant_id: str) -> KeyRing | None:
    """The tenant's signing keys as stored now (strongly consistent: a rotation a moment ago counts)."""
    try:
        return _key_ring(SigningKeyRecord.get(tenant_id, KEY_SK, consistent_read=True))
    except DoesNotExist:
        return None


def add_signing_key(tenant_id: str, material: bytes, at: datetime) -> KeyRing:
    """Stores the tenant's first key, of ``material``, unless it has keys; the keys stored after (a
    racing sender's may have won: both then sign with the same)."""
    ring = KeyRing.first(tenant_id, material, at)
    record = SigningKeyRecord(
        pk=tenant_id, sk=KEY_SK, name="tracking signing keys", created_at=at.isoformat(), **_key_values(ring)
    )
    try:
        record.save(condition=SigningKeyRecord.pk.does_not_exist())
    except PutError as error:
        if not condition_failed(error):
            raise
        stored = key_ring(tenant_id)
        assert stored is not None, "signing keys, once stored, are never deleted"
        return stored
    return ring


def replace_key_ring(ring: KeyRing, expected_key_id: int) -> None:
    """Writes ``ring`` over the stored keys if their current key is still ``expected_key_id`` (no
    rotation meanwhile); Conflict otherwise."""
    actions = [
        getattr(SigningKeyRecord, name).remove()
        if value is None
        else getattr(SigningKeyRecord, name).set(value)
        for name, value in _key_values(ring).items()
    ]
    with refused_as(lambda: Conflict("the signing keys were changed meanwhile: read them again")):
        SigningKeyRecord(pk=ring.tenant_id, sk=KEY_SK).update(
            actions=actions, condition=SigningKeyRecord.key_id == expected_key_id
        )


# ---------------------------------------------------------------- sender identity


def sender(tenant_id: str) -> tuple[Sender | None, SenderIdentities]:
    """The tenant's sender (None: none configured) and the sender identities granted to it now, in
    one strongly consistent BatchGetItem: mail is sent only from an address granted at the time."""
    wanted = {SENDER_SK: SenderRecord, TENANT_SK: TenantRecord}
    table = TenantsTableRecord._get_connection()
    keys: list[dict] = [{"pk": tenant_id, "sk": sk} for sk in wanted]
    found: dict[str, Any] = {}
    while keys:  # DynamoDB may leave keys unprocessed (throttled): asked again until none is left
        answer = table.batch_get_item(keys, consistent_read=True)
        for raw in answer.get("Responses", {}).get(table.table_name, []):
            found[raw["sk"]["S"]] = wanted[raw["sk"]["S"]].from_raw_data(raw)
        keys = answer.get("UnprocessedKeys", {}).get(table.table_name, {}).get("Keys", [])
    record, tenant = found.get(SENDER_SK), found.get(TENANT_SK)
    identities = SenderIdentities() if tenant is None else identities_of(tenant)
    return (None if record is None else Sender(record.address, record.display_name)), identities


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


def sent_mail_and_item(tenant_id: str, message_id: str, item: ItemRef) -> tuple[SentMail | None, Item | None]:
    """The sent message's record and the item it is about (None for either not there), read together
    in one strongly consistent BatchGetItem: a click needs both, the address stored for its link and
    the item its event moves."""
    wanted = {_mail_pk(tenant_id, message_id): MESSAGE_SK, item_pk(tenant_id, item.type, item.id): ITEM_SK}
    table = ItemsTableRecord._get_connection()
    keys: list[dict] = [{"pk": pk, "sk": sk} for pk, sk in wanted.items()]
    found: dict[str, dict] = {}
    while keys:  # DynamoDB may leave keys unprocessed (throttled): asked again until none is left
        answer = table.batch_get_item(keys, consistent_read=True)
        for raw in answer.get("Responses", {}).get(table.table_name, []):
            found[raw["sk"]["S"]] = raw
        keys = answer.get("UnprocessedKeys", {}).get(table.table_name, {}).get("Keys", [])
    mail, stored = found.get(MESSAGE_SK), found.get(ITEM_SK)
    return (
        None if mail is None else _sent_mail(SentMailRecord.from_raw_data(mail)),
        None if stored is None else from_record(ItemRecord.from_raw_data(stored)),
    )


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
    with refused_as(lambda: Conflict(f"message {mail.message_id} is on record already")):
        record.save(condition=SentMailRecord.pk.does_not_exist())


def release(tenant_id: str, message_id: str) -> None:
    """Forgets a reservation whose mail was not sent (the mail service refused it)."""
    try:
        SentMailRecord(pk=_mail_pk(tenant_id, message_id), sk=MESSAGE_SK).delete(
            condition=SentMailRecord.state == "sending"
        )
    except DeleteError as error:
        if not condition_failed(error):
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
