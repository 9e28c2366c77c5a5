"""Inbound mail: SES stores the raw message in S3 and invokes the function with a receipt event."""

from __future__ import annotations

import copy
import os
from email.message import EmailMessage

import boto3
import pytest

from tests.conftest import REGION, lambda_context, load_event, load_handler
from tests.gateway import Gateway

BUCKET = os.environ["INBOUND_BUCKET"]


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


def deliver(
    address: str, sender: str = "Ivan Petrov <ivan.petrov@client.test>", verdict: str = "PASS"
) -> dict:
    """What SES does: the raw message into the bucket under the prefix, then the receipt event."""
    event = copy.deepcopy(load_event("inbound_mail/ses_receipt.json"))
    ses = event["Records"][0]["ses"]
    message = EmailMessage()
    message["From"], message["To"] = sender, address
    message["Subject"] = "Re: your quote for two forklifts"
    message["Message-ID"] = "<CAF=quote-reply-42@client.test>"
    message.set_content("Hello,\n\nwe accept the quote. Please send the invoice.\n\nIvan")
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=BUCKET, Key=f"inbound/{ses['mail']['messageId']}", Body=message.as_bytes()
    )
    ses["mail"]["destination"] = ses["receipt"]["recipients"] = [address]
    ses["receipt"]["virusVerdict"]["status"] = verdict
    return load_handler("inbound_mail").lambda_handler(event, lambda_context())


def mail_entries(gateway, key, path):
    entries = gateway.call("GET", f"{path}/timeline", None, key).body["entries"]
    return [e for e in entries if e["kind"] == "email_received"]


def test_mail_is_recorded_once_on_every_item_of_the_sender(mailbox):
    gateway, key, address = mailbox
    assert address.startswith("demo+") and address.endswith("@inbound.example.com")
    assert deliver(address) == {"recorded": 2}
    assert deliver(address) == {"recorded": 0}  # SES redelivers: nothing twice
    (entry,) = mail_entries(gateway, key, "/items/deal/1")
    assert entry["data"]["subject"] == "Re: your quote for two forklifts"
    assert entry["data"]["from"] == "ivan.petrov@client.test"
    assert "we accept the quote" in entry["data"]["snippet"]
    assert entry["data"]["raw"].startswith(f"s3://{BUCKET}/inbound/")
    assert len(mail_entries(gateway, key, "/items/lead/1")) == 1
    assert mail_entries(gateway, key, "/items/deal/2") == []


def test_mail_to_a_wrong_token_or_with_a_virus_records_nothing(mailbox):
    gateway, key, address = mailbox
    tenant, _, domain = address.partition("+")
    assert deliver(f"{tenant}+0000000000000000@{domain.split('@')[1]}") == {"recorded": 0}
    assert deliver(address.replace("demo+", "other+")) == {"recorded": 0}
    assert deliver(address, verdict="FAIL") == {"recorded": 0}
    assert mail_entries(gateway, key, "/items/deal/1") == []


def test_mail_from_an_unknown_sender_changes_nothing(mailbox):
    gateway, key, address = mailbox
    assert deliver(address, sender="stranger@nowhere.test") == {"recorded": 0}
    for path in ("/items/deal/1", "/items/deal/2", "/items/lead/1"):
        assert mail_entries(gateway, key, path) == []
