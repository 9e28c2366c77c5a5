"""The inbound mailbox's storage: raw messages in the inbound bucket (SES's S3 action puts them
there), and each tenant's unverified mail in the items table, newest first, once per message."""

from __future__ import annotations

from datetime import timedelta

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from crm.adapters.clients import client
from crm.adapters.items import MAX_PAGE, decode_cursor, encode_cursor, once_pk
from crm.adapters.readable import readable
from crm.adapters.tables import ItemsTableRecord, UnverifiedMailRecord, connection
from crm.adapters.transactions import refusal
from crm.domain.errors import AlreadyRecorded
from crm.domain.mail import UnverifiedMail

# As long as the bucket's lifecycle keeps the raw message the record points to.
UNVERIFIED_KEPT = timedelta(days=365)


def read_raw(bucket: str, key: str) -> bytes:
    return client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def _unverified_pk(tenant_id: str) -> str:
    return f"{tenant_id}#UNVERIFIED_MAIL"


def keep_unverified(tenant_id: str, mail: UnverifiedMail, source: str) -> None:
    """Keeps ``mail`` for the tenant to review, with a marker of ``source`` (the message's key) in
    the same transaction: AlreadyRecorded if the message was kept before, and nothing is written."""
    marker = ItemsTableRecord(
        pk=once_pk(tenant_id, source), sk="UNVERIFIED", kind="once", tenant_id=tenant_id
    )
    record = UnverifiedMailRecord(
        pk=_unverified_pk(tenant_id),
        sk=f"{mail.received_at.isoformat()}#{source}",
        kind="unverified_mail",
        tenant_id=tenant_id,
        received_at=mail.received_at.isoformat(),
        mail=mail.to_dict(),
        expires_at=int((mail.received_at + UNVERIFIED_KEPT).timestamp()),
    )
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.save(marker, condition=ItemsTableRecord.pk.does_not_exist())
            transaction.save(record)
    except TransactWriteError as error:
        raise refusal(error, {0: AlreadyRecorded(f"{source} is kept as unverified mail already")}) from None


def list_unverified(
    tenant_id: str, limit: int, cursor: str | None
) -> tuple[list[UnverifiedMail], str | None]:
    """Newest first."""
    pk = _unverified_pk(tenant_id)
    results = UnverifiedMailRecord.query(
        pk,
        scan_index_forward=False,
        limit=min(limit, MAX_PAGE),
        last_evaluated_key=decode_cursor(cursor, {"pk": pk}, {"sk": ""}),
    )
    found = readable(results, lambda r: UnverifiedMail.from_dict(r.mail), "unverified mail")
    return found, encode_cursor(results.last_evaluated_key)
