"""Inbound mail over real SMTP to the local runtime: the local sender passes SES's checks unless
its X-Local-Verdicts header says otherwise; mail whose sender fails them is the tenant's
unverified mail, on no contact's timeline; a message retried by its sender is recorded once."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from tests.e2e.conftest import Local
from tests.e2e.harness import eventually


def send(local: Local, sender: str, message_id: str, envelope: str | None = None, **headers: str) -> None:
    message = EmailMessage()
    message["From"], message["To"] = sender, local.demo["mailbox"]
    message["Subject"], message["Message-ID"] = f"About {message_id}", message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("Hello, when can you deliver the chairs?")
    with smtplib.SMTP("127.0.0.1", local.smtp_port, timeout=30) as smtp:
        smtp.send_message(message, from_addr=envelope)


def unverified(local: Local, message_id: str) -> dict | None:
    return next(
        (m for m in local.call("GET", "/mailbox/unverified").body["mail"] if m["message_id"] == message_id),
        None,
    )


def deal_mail(local: Local, message_id: str) -> list[dict]:
    entries = local.call("GET", f"/items/deal/{local.demo['items']['deal']}/timeline").body["entries"]
    return [e for e in entries if e["kind"] == "email_received" and e["data"]["message_id"] == message_id]


def test_a_forged_from_with_failed_verdicts_is_unverified_mail(local: Local) -> None:
    # Given mail that claims to come from the demo deal's contact, sent from another server
    send(
        local,
        "Northwind Buyer <buyer@northwind.example>",
        "<forged-1@northwind.example>",
        envelope="bounce@evil.example",
        X_Local_Verdicts="spf=FAIL, dkim=FAIL, dmarc=FAIL",
    )
    # Then the tenant finds it among its unverified mail, with SES's verdicts
    kept = eventually(lambda: unverified(local, "<forged-1@northwind.example>"))
    assert kept is not None, "the forged mail was not kept as unverified mail"
    assert kept["from"] == "Northwind Buyer <buyer@northwind.example>"
    assert kept["envelope_sender"] == "bounce@evil.example"
    assert kept["verdicts"] == {
        "spf": "FAIL",
        "dkim": "FAIL",
        "dmarc": "FAIL",
        "spam": "PASS",
        "virus": "PASS",
    }
    assert kept["raw"].startswith("s3://")
    # And it is not on the contact's deal
    assert deal_mail(local, "<forged-1@northwind.example>") == []


def test_a_forged_reply_to_does_not_reach_the_contacts_deal(local: Local) -> None:
    # Given mail from a stranger (authenticated locally) whose Reply-To names the deal's contact
    send(local, "stranger@evil.example", "<reply-to-1@evil.example>", Reply_To="buyer@northwind.example")
    # And then a genuine message, so we know the first one has been handled
    send(local, "buyer@northwind.example", "<genuine-1@northwind.example>")
    assert eventually(lambda: deal_mail(local, "<genuine-1@northwind.example>"))
    assert deal_mail(local, "<reply-to-1@evil.example>") == []
    assert unverified(local, "<reply-to-1@evil.example>") is None


def test_a_message_its_sender_retries_is_recorded_once(local: Local) -> None:
    send(local, "buyer@northwind.example", "<retried-1@northwind.example>")
    send(local, "buyer@northwind.example", "<retried-1@northwind.example>")
    send(local, "buyer@northwind.example", "<after-retry@northwind.example>")
    assert eventually(lambda: deal_mail(local, "<after-retry@northwind.example>"))
    assert len(deal_mail(local, "<retried-1@northwind.example>")) == 1


def test_an_unreadable_verdicts_header_refuses_the_message(local: Local) -> None:
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(
            local,
            "buyer@northwind.example",
            "<bad-verdicts@northwind.example>",
            X_Local_Verdicts="dmarc=MAYBE",
        )
    assert refused.value.smtp_code == 554
    assert b"X-Local-Verdicts" in refused.value.smtp_error
