"""Payment accounts, and what each item has been paid.

Automation table: account   pk={tenant}#PAYMENT_ACCOUNTS   sk={account id}   (with the secrets: the
                  CRM signs Checkout requests and checks webhook HMACs with them, so they are kept,
                  not hashed, in the table's encryption at rest)
Items table:      ledger    pk={tenant}#ITEM#{type}#{id}   sk=PAYMENTS   (the item's payments, each
                  with its ids and amount; ``version`` makes each change conditional on the one read)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist

from crm.adapters.along import Write
from crm.adapters.items import ITEM_SK, from_record, item_pk
from crm.adapters.readable import readable
from crm.adapters.tables import AutomationRecord, ItemRecord, ItemsTableRecord, connection
from crm.adapters.transactions import refused_as
from crm.domain.errors import Conflict, NotFound, StaleWrite
from crm.domain.model import Item
from crm.domain.payments import Ledger, Paid, PaymentAccount, Provider
from crm.domain.trigger_events import ItemRef

LEDGER_SK = "PAYMENTS"


class PaymentAccountRecord(AutomationRecord):
    tenant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    provider = UnicodeAttribute()
    created_at = UnicodeAttribute()
    webhook_secret = UnicodeAttribute()
    secret_key = UnicodeAttribute(null=True)
    return_url = UnicodeAttribute(null=True)
    rotated_at = UnicodeAttribute(null=True)
    previous_webhook_secret = UnicodeAttribute(null=True)
    previous_valid_until = UnicodeAttribute(null=True)


class LedgerRecord(ItemsTableRecord):
    payments = JSONAttribute()
    version = NumberAttribute()


def _pk(tenant_id: str) -> str:
    return f"{tenant_id}#PAYMENT_ACCOUNTS"


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _record(account: PaymentAccount) -> PaymentAccountRecord:
    return PaymentAccountRecord(
        pk=_pk(account.tenant_id),
        sk=account.id,
        tenant_id=account.tenant_id,
        name=account.name,
        provider=account.provider.value,
        created_at=account.created_at.isoformat(),
        webhook_secret=account.webhook_secret,
        secret_key=account.secret_key,
        return_url=account.return_url,
        rotated_at=_iso(account.rotated_at),
        previous_webhook_secret=account.previous_webhook_secret,
        previous_valid_until=_iso(account.previous_valid_until),
    )


def _account(record: PaymentAccountRecord) -> PaymentAccount:
    return PaymentAccount(
        tenant_id=record.tenant_id,
        id=record.sk,
        name=record.name,
        provider=Provider(record.provider),
        created_at=datetime.fromisoformat(record.created_at),
        webhook_secret=record.webhook_secret,
        secret_key=record.secret_key,
        return_url=record.return_url,
        rotated_at=_time(record.rotated_at),
        previous_webhook_secret=record.previous_webhook_secret,
        previous_valid_until=_time(record.previous_valid_until),
    )


def create(account: PaymentAccount) -> None:
    with refused_as(lambda: Conflict(f"payment account {account.id!r} exists already")):
        _record(account).save(condition=PaymentAccountRecord.pk.does_not_exist())


def get(tenant_id: str, account_id: str) -> PaymentAccount | None:
    """The account as stored now (strongly consistent: one made or rolled a moment ago verifies)."""
    try:
        return _account(PaymentAccountRecord.get(_pk(tenant_id), account_id, consistent_read=True))
    except DoesNotExist:
        return None


def list_all(tenant_id: str) -> list[PaymentAccount]:
    return readable(PaymentAccountRecord.query(_pk(tenant_id)), _account, "payment account")


def replace(account: PaymentAccount, expected_secret: str) -> None:
    """Writes ``account`` over the stored one if that still has the signing secret
    ``expected_secret`` (not rolled or deleted meanwhile); Conflict otherwise."""
    with refused_as(lambda: Conflict(f"payment account {account.id!r} was changed meanwhile: read it again")):
        _record(account).save(condition=PaymentAccountRecord.webhook_secret == expected_secret)


def delete(tenant_id: str, account_id: str) -> None:
    with refused_as(lambda: NotFound(f"payment account {account_id!r} does not exist")):
        PaymentAccountRecord(pk=_pk(tenant_id), sk=account_id).delete(
            condition=PaymentAccountRecord.pk.exists()
        )


# ---------------------------------------------------------------- what an item has been paid


def item_and_ledger(tenant_id: str, ref: ItemRef) -> tuple[Item | None, Ledger]:
    """The item (None: it does not exist) and its ledger, in one strongly consistent BatchGetItem."""
    pk = item_pk(tenant_id, ref.type, ref.id)
    keys = [{"pk": {"S": pk}, "sk": {"S": sk}} for sk in (ITEM_SK, LEDGER_SK)]
    table = ItemsTableRecord.Meta.table_name
    found: dict[str, dict[str, Any]] = {}
    while keys:  # what DynamoDB leaves unprocessed (throttled) is asked again
        answer = connection().dispatch(
            "BatchGetItem", {"RequestItems": {table: {"Keys": keys, "ConsistentRead": True}}}
        )
        for raw in answer.get("Responses", {}).get(table, []):
            found[raw["sk"]["S"]] = raw
        keys = answer.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
    item = from_record(ItemRecord.from_raw_data(found[ITEM_SK])) if ITEM_SK in found else None
    if LEDGER_SK not in found:
        return item, Ledger()
    record = LedgerRecord.from_raw_data(found[LEDGER_SK])
    return item, Ledger(tuple(Paid.from_dict(p) for p in record.payments), int(record.version))


def ledger_write(tenant_id: str, ref: ItemRef, ledger: Ledger, read: Ledger) -> Write:
    """``ledger`` over ``read`` (the version it was made from): a payment counted meanwhile by
    another event refuses the write (StaleWrite: the event is delivered again, and counts on it)."""
    record = LedgerRecord(
        pk=item_pk(tenant_id, ref.type, ref.id),
        sk=LEDGER_SK,
        kind="payments",
        tenant_id=tenant_id,
        payments=[p.to_dict() for p in ledger.payments],
        version=read.version + 1,
    )
    condition = (
        LedgerRecord.pk.does_not_exist() if read.version == 0 else LedgerRecord.version == read.version
    )
    return Write(
        record,
        condition=condition,
        refused=StaleWrite(f"{ref}'s payments changed meanwhile; deliver it again"),
    )
