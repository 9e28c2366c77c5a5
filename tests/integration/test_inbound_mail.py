"""Inbound mail: SES stores the raw message in S3 and invokes the function with a receipt event.

Mail is never lost (a failed write raises, so Lambda retries and the DLQ keeps it) and never
recorded twice (once per Message-ID, whatever the delivery); only a sender SES's verdicts
authenticate reaches a contact's timeline, anything else is the tenant's unverified mail."""

from __future__ import annotations

import copy
import os
from email.message import EmailMessage

import boto3
import pytest
from pynamodb.exceptions import TransactWriteError

from crm.domain.errors import Throttled, TooLarge
from tests.conftest import REGION, lambda_context, load_event, load_handler
from tests.gateway import Gateway
from tests.integration.dynamodb_faults import (  # noqa: F401 - a fixture
    ITEM_TOO_LARGE,
    cancelled,
    dynamodb_faults,
    refused,
)

BUCKET = os.environ["INBOUND_BUCKET"]
IVAN = "Ivan Petrov <ivan.petrov@client.test>"
FAILED = {"spf": "FAIL", "dkim": "FAIL", "dmarc": "FAIL"}


@pytest.fixture
def mailbox(aws):
    from crm.service.tenants import create_tenant

    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    gateway, key = Gateway(), create_tenant("Demo", "demo").api_key
    gateway.call(
        "POST", "/pipelines", {"item_type": "deal", "name": "Sales", "stages": [{"name": "New"}]}, key
    )
    gateway.call(
        "POST", "/pipelines", {"item_type": "lead", "name": "Leads", "stages": [{"name": "New"}]}, key
    )
    gateway.call(
        "POST", "/items/deal", {"title": "Two forklifts", "emails": ["Ivan.Petrov@client.test"]}, key
    )
    gateway.call("POST", "/items/lead", {"title": "Ivan", "emails": ["ivan.petrov@client.test"]}, key)
    gateway.call("POST", "/items/deal", {"title": "Other client", "emails": ["other@client.test"]}, key)
    address = gateway.call("GET", "/mailbox", None, key).body["address"]
    return gateway, key, address


def message(
    sender: str = IVAN,
    to: str = "demo@inbound.example.com",
    subject: str = "Re: your quote for two forklifts",
    message_id: str = "<CAF=quote-reply-42@client.test>",
    **headers: str,
) -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"], mail["Message-ID"] = sender, to, subject, message_id
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content("Hello,\n\nwe accept the quote. Please send the invoice.\n\nIvan")
    return mail.as_bytes()


def deliver(
    recipients: list[str],
    raw: bytes | None = None,
    envelope: str = "ivan.petrov@client.test",
    ses_id: str = "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1",
    at: str = "2026-11-23T09:15:02.000Z",
    **verdicts: str,
) -> dict:
    """What SES does: the raw message into the bucket under the prefix, then the receipt event."""
    event = copy.deepcopy(load_event("inbound_mail/ses_receipt.json"))
    ses = event["Records"][0]["ses"]
    raw = message(to=", ".join(recipients)) if raw is None else raw
    boto3.client("s3", region_name=REGION).put_object(Bucket=BUCKET, Key=f"inbound/{ses_id}", Body=raw)
    ses["mail"].update(messageId=ses_id, source=envelope, timestamp=at, destination=recipients)
    ses["receipt"].update(timestamp=at, recipients=recipients)
    for name, status in verdicts.items():
        ses["receipt"][f"{name}Verdict"]["status"] = status
    return load_handler("inbound_mail").lambda_handler(event, lambda_context())


def mail_entries(gateway, key, path):
    entries = gateway.call("GET", f"{path}/timeline", None, key).body["entries"]
    return [e for e in entries if e["kind"] == "email_received"]


def unverified(gateway, key, query=""):
    return gateway.call("GET", f"/mailbox/unverified{query}", None, key)


def outcome(tenants=1, recorded=0, unverified=0, refused=False, moved=0, new_items=0):
    return {
        "tenants": tenants,
        "recorded": recorded,
        "unverified": unverified,
        "refused": refused,
        "moved": moved,
        "new_items": new_items,
    }


# ---------------------------------------------------------------- once per message id


def test_mail_is_recorded_once_on_every_item_of_the_sender(mailbox):
    gateway, key, address = mailbox
    assert address.startswith("demo+") and address.endswith("@inbound.example.com")
    assert deliver([address]) == outcome(recorded=2)
    assert deliver([address]) == outcome(recorded=0)  # SES redelivers: nothing twice
    (entry,) = mail_entries(gateway, key, "/items/deal/1")
    assert entry["data"]["subject"] == "Re: your quote for two forklifts"
    assert entry["data"]["from"] == "ivan.petrov@client.test"
    assert entry["data"]["message_id"] == "<CAF=quote-reply-42@client.test>"
    assert "we accept the quote" in entry["data"]["snippet"]
    assert entry["data"]["raw"] == f"s3://{BUCKET}/inbound/o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1"
    assert len(mail_entries(gateway, key, "/items/lead/1")) == 1
    assert mail_entries(gateway, key, "/items/deal/2") == []


def test_the_same_message_id_delivered_again_later_is_not_recorded_twice(mailbox):
    # Given a message recorded once
    gateway, key, address = mailbox
    assert deliver([address]) == outcome(recorded=2)
    # When the sender's server retries it: a new SES message, received an hour later
    again = deliver([address], ses_id="retry0000000000000000000000000000000001", at="2026-11-23T10:15:00Z")
    # Then nothing is added
    assert again == outcome(recorded=0)
    assert len(mail_entries(gateway, key, "/items/deal/1")) == 1
    assert len(mail_entries(gateway, key, "/items/lead/1")) == 1


def test_the_same_message_to_two_tenants_is_recorded_for_each(mailbox):
    from crm.service import configuration, items
    from crm.service.mail import mailbox_address
    from crm.service.tenants import create_tenant

    gateway, key, address = mailbox
    globex_key = create_tenant("Globex", "globex").api_key
    configuration.create_pipeline(
        "globex", {"item_type": "deal", "name": "Sales", "stages": [{"name": "New"}]}
    )
    items.create_item("globex", "deal", {"title": "Forklift rental", "emails": ["ivan.petrov@client.test"]})
    globex = mailbox_address("globex", "inbound.example.com")

    assert deliver([address, globex]) == outcome(tenants=2, recorded=3)
    assert deliver([globex]) == outcome(recorded=0)
    assert len(mail_entries(gateway, globex_key, "/items/deal/1")) == 1
    assert len(mail_entries(gateway, key, "/items/deal/1")) == 1


# ---------------------------------------------------------------- who may write on a timeline


def test_a_forged_from_is_kept_as_unverified_mail_on_no_item(mailbox):
    # Given mail that claims to be Ivan's, sent from evil.test's server and signed by evil.test
    gateway, key, address = mailbox
    signed = message(DKIM_Signature="v=1; a=rsa-sha256; d=evil.test; s=s1; b=abc")
    # When SES's verdicts say DMARC fails for client.test (SPF and DKIM pass, for evil.test)
    got = deliver([address], signed, envelope="bounce@evil.test", spf="PASS", dkim="PASS", dmarc="FAIL")
    # Then it is on no item, but the tenant can review it, once
    assert got == outcome(unverified=1)
    assert deliver([address], signed, envelope="bounce@evil.test", dmarc="FAIL") == outcome(unverified=0)
    for path in ("/items/deal/1", "/items/lead/1", "/items/deal/2"):
        assert mail_entries(gateway, key, path) == []
    page = unverified(gateway, key)
    assert page.status == 200 and page.body["cursor"] is None
    (kept,) = page.body["mail"]
    assert kept["from"] == IVAN
    assert kept["envelope_sender"] == "bounce@evil.test"
    assert kept["subject"] == "Re: your quote for two forklifts"
    assert kept["received_at"].startswith("2026-11-23T09:15:02")
    assert kept["verdicts"] == {
        "spf": "PASS",
        "dkim": "PASS",
        "dmarc": "FAIL",
        "spam": "PASS",
        "virus": "PASS",
    }
    assert kept["raw"] == f"s3://{BUCKET}/inbound/o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1"
    assert kept["message_id"] == "<CAF=quote-reply-42@client.test>"


def test_a_forged_reply_to_does_not_put_mail_on_the_contacts_items(mailbox):
    # Given evil.test's own, authenticated mail whose Reply-To names Ivan
    gateway, key, address = mailbox
    forged = message(sender="Support <help@evil.test>", Reply_To=IVAN)
    # Then the sender is evil.test, no contact of the tenant: nothing lands on Ivan's items
    assert deliver([address], forged, envelope="help@evil.test") == outcome(recorded=0)
    assert mail_entries(gateway, key, "/items/deal/1") == []
    assert mail_entries(gateway, key, "/items/lead/1") == []
    assert unverified(gateway, key).body["mail"] == []


@pytest.mark.parametrize("status", ["FAIL", "GRAY", "PROCESSING_FAILED"])
def test_failed_verdicts_keep_genuine_looking_mail_unverified(mailbox, status):
    gateway, key, address = mailbox
    assert deliver([address], spf=status, dkim=status, dmarc=status) == outcome(unverified=1)
    assert mail_entries(gateway, key, "/items/deal/1") == []
    assert [m["verdicts"]["dmarc"] for m in unverified(gateway, key).body["mail"]] == [status]


def test_spf_for_an_aligned_envelope_sender_is_enough_without_dmarc(mailbox):
    gateway, key, address = mailbox
    got = deliver([address], envelope="bounces@mail.client.test", spf="PASS", dkim="GRAY", dmarc="GRAY")
    assert got == outcome(recorded=2)
    assert len(mail_entries(gateway, key, "/items/deal/1")) == 1


def test_mail_to_a_wrong_token_or_with_a_virus_or_spam_records_nothing(mailbox):
    gateway, key, address = mailbox
    tenant, _, domain = address.partition("+")
    assert deliver([f"{tenant}+0000000000000000@{domain.split('@')[1]}"]) == outcome(tenants=0)
    assert deliver([address.replace("demo+", "other+")]) == outcome(tenants=0)
    assert deliver([address.replace("+", "+\u00e9")]) == outcome(tenants=0)
    assert deliver([address], virus="FAIL") == outcome(tenants=0, refused=True)
    assert deliver([address], spam="FAIL", **FAILED) == outcome(tenants=0, refused=True)
    assert mail_entries(gateway, key, "/items/deal/1") == []
    assert unverified(gateway, key).body["mail"] == []


def test_mail_from_an_unknown_sender_changes_nothing(mailbox):
    gateway, key, address = mailbox
    stranger = message(sender="stranger@nowhere.test")
    assert deliver([address], stranger, envelope="stranger@nowhere.test") == outcome(recorded=0)
    for path in ("/items/deal/1", "/items/deal/2", "/items/lead/1"):
        assert mail_entries(gateway, key, path) == []


# ---------------------------------------------------------------- what senders send


def test_a_600_kb_folded_subject_is_recorded_capped(mailbox):
    gateway, key, address = mailbox
    huge = message(subject=" ".join(f"word{i}" for i in range(61_000)))
    assert len(huge) > 600_000 and b"\n word" in huge  # folded
    assert deliver([address], huge) == outcome(recorded=2)
    (entry,) = mail_entries(gateway, key, "/items/deal/1")
    assert len(entry["data"]["subject"]) == 998 and entry["data"]["subject"].startswith("word0 word1")


def test_an_unknown_charset_and_broken_mime_are_recorded_with_replacement(mailbox):
    gateway, key, address = mailbox
    raw = (
        b"From: ivan.petrov@client.test\r\nMessage-ID: <klingon@client.test>\r\n"
        b'Subject: =?x-klingon?q?Qapla=21?=\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nnuqneH \xff\r\n--b"
    )
    assert deliver([address], raw) == outcome(recorded=2)
    (entry,) = mail_entries(gateway, key, "/items/deal/1")
    assert entry["data"]["subject"] == "Qapla!"
    assert entry["data"]["snippet"].startswith("nuqneH \ufffd")


def test_a_message_to_a_thousand_addresses_costs_few_look_ups(mailbox, dynamodb):
    gateway, key, address = mailbox
    tenant, _, rest = address.partition("+")
    # 990 forged tokens of this tenant, 10 other tenants, then the right address and 499 more tenants
    recipients = [f"{tenant}+{i:016x}@{rest.split('@')[1]}" for i in range(990)]
    recipients += [f"tenant-{i}+{i:016x}@inbound.example.com" for i in range(10)]
    recipients += [address] + [f"later-{i}+{i:016x}@inbound.example.com" for i in range(499)]
    dynamodb.calls.clear()

    assert deliver(recipients) == outcome(tenants=0)  # the right address came after the caps

    look_ups = [c for c in dynamodb.calls if c[0] == "GetItem" and c[1] == os.environ["TENANTS_TABLE"]]
    assert len(look_ups) <= 10
    assert mail_entries(gateway, key, "/items/deal/1") == []


def test_the_tenants_own_mailbox_is_found_among_many_recipients(mailbox):
    gateway, key, address = mailbox
    recipients = [f"x{i}@inbound.example.com" for i in range(500)] + [address]
    assert deliver(recipients) == outcome(recorded=2)
    assert len(mail_entries(gateway, key, "/items/deal/1")) == 1


# ---------------------------------------------------------------- failed writes are not "already recorded"


@pytest.mark.parametrize(
    ("error", "raised_as"),
    [
        (cancelled("None", "ThrottlingError"), Throttled),
        (cancelled(ITEM_TOO_LARGE, "None"), TooLarge),
        (cancelled("ValidationError", "None"), TransactWriteError),
        (refused("ProvisionedThroughputExceededException", "TransactWriteItems"), Throttled),
    ],
    ids=["throttled-in-transaction", "item-too-large", "invalid", "throttled"],
)
def test_a_failed_write_raises_and_the_retry_records_the_mail(mailbox, dynamodb, error, raised_as):
    gateway, key, address = mailbox
    # Given DynamoDB refusing the write
    dynamodb.fail["TransactWriteItems"] = error
    # Then the handler raises (Lambda retries the event, then its DLQ keeps it)
    with pytest.raises(raised_as) as raised:
        deliver([address])
    refusal = raised.value.cause if raised_as is TransactWriteError else raised.value.__cause__
    assert refusal.response["Error"] == error.response["Error"]
    assert mail_entries(gateway, key, "/items/deal/1") == []
    # And Lambda's retry, once DynamoDB takes writes again, records the mail
    dynamodb.fail.clear()
    assert deliver([address]) == outcome(recorded=2)


def test_a_redelivery_records_the_message_only_where_it_is_missing(mailbox):
    # The sender's entries are one transaction: a failed write leaves none (above), so what a
    # redelivery can find is the message on some of the sender's items and not on others.
    gateway, key, address = mailbox
    # Given the message recorded while only the deal had the sender's address
    gateway.call("PATCH", "/items/lead/1", {"emails": []}, key)
    assert deliver([address]) == outcome(recorded=1)
    # When the lead gets the address and the message is delivered again
    gateway.call("PATCH", "/items/lead/1", {"emails": ["ivan.petrov@client.test"]}, key)
    assert deliver([address]) == outcome(recorded=1)
    # Then the lead has it, and the deal still has it once
    assert (
        len(mail_entries(gateway, key, "/items/deal/1"))
        == len(mail_entries(gateway, key, "/items/lead/1"))
        == 1
    )


def test_a_failed_write_of_unverified_mail_raises(mailbox, dynamodb):
    gateway, key, address = mailbox
    dynamodb.fail["TransactWriteItems"] = cancelled("None", "ThrottlingError")
    with pytest.raises(Throttled) as raised:
        deliver([address], **FAILED)
    assert raised.value.__cause__.cancellation_reasons[1].code == "ThrottlingError"
    assert unverified(gateway, key).body["mail"] == []
    dynamodb.fail.clear()
    assert deliver([address], **FAILED) == outcome(unverified=1)


# ---------------------------------------------------------------- the unverified mail route


def test_unverified_mail_is_listed_newest_first_a_page_at_a_time_for_its_tenant_only(mailbox):
    from crm.service.tenants import create_tenant

    gateway, key, address = mailbox
    for n in range(3):
        raw = message(message_id=f"<m{n}@client.test>", subject=f"mail {n}")
        deliver([address], raw, ses_id=f"ses{n}", at=f"2026-11-23T09:1{n}:00Z", **FAILED)

    first = unverified(gateway, key, "?limit=2")
    assert [m["subject"] for m in first.body["mail"]] == ["mail 2", "mail 1"]
    second = unverified(gateway, key, f"?limit=2&cursor={first.body['cursor']}")
    assert [m["subject"] for m in second.body["mail"]] == ["mail 0"]
    assert second.body["cursor"] is None

    assert unverified(gateway, key, "?limit=0").status == 422
    assert unverified(gateway, key, "?cursor=bm90LWEtY3Vyc29y").status == 422
    other_key = create_tenant("Globex", "globex").api_key
    assert unverified(gateway, other_key).body["mail"] == []
    assert unverified(gateway, other_key, f"?cursor={first.body['cursor']}").status == 422


def test_unverified_mail_expires_with_its_raw_message(mailbox):
    from crm.adapters.tables import UnverifiedMailRecord

    deliver([mailbox[2]], **FAILED)
    (record,) = UnverifiedMailRecord.query("demo#UNVERIFIED_MAIL")
    # 2026-11-23T09:15:02Z + 365 days, as the bucket's lifecycle keeps the raw message
    assert record.expires_at == 1826961302
