"""Incoming email as a trigger through the local runtime over real SMTP: the contact's mail moves the
deal (the timeline names the trigger and the employee, the journal says why), the sender's retry
changes nothing, a forged message is journaled and moves nothing, and mail from a new sender
becomes a lead in "Unprocessed" (the demo's mail source setting) with the mail on it, once."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from tests.e2e.conftest import Local
from tests.e2e.harness import eventually

pytestmark = pytest.mark.e2e

CONTACT = "olga.e2e@mailclient.example"
NEW_SENDER = "jane.e2e@newclient.example"


def send(local: Local, sender: str, message_id: str, subject: str, **headers: str) -> None:
    message = EmailMessage()
    message["From"], message["To"] = sender, local.demo["mailbox"]
    message["Subject"], message["Message-ID"] = subject, message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("Hello, we would like to go ahead.")
    with smtplib.SMTP("127.0.0.1", local.smtp_port, timeout=30) as smtp:
        smtp.send_message(message)


def mail_on(local: Local, path: str, message_id: str) -> list[dict]:
    entries = local.call("GET", f"{path}/timeline").body["entries"]
    return [e for e in entries if e["kind"] == "email_received" and e["data"]["message_id"] == message_id]


def not_applied(local: Local, message_id: str) -> dict | None:
    entries = local.call("GET", "/journal?source=mail").body["entries"]
    return next((e for e in entries if e["event"]["data"]["message_id"] == message_id), None)


def test_mail_moves_the_contacts_deal_and_a_new_sender_gets_a_lead(local: Local) -> None:
    # Given a pipeline of its own (the other tests' mail reaches none of its items) whose
    # "Client wrote" stage has an incoming_email trigger run as the manager, and a deal there
    manager, anna = local.demo["employees"]["manager"], local.demo["employees"]["rep_anna"]
    stages = [
        {"name": "New"},
        {"id": "wrote", "name": "Client wrote"},
        {"name": "Won", "semantic": "success"},
    ]
    pipeline = {"id": "e2e_mail", "item_type": "deal", "name": "E2E mail", "stages": stages}
    assert local.call("POST", "/pipelines", pipeline).status == 201
    rule = {"type_code": "incoming_email", "stage_id": "wrote", "name": "Client wrote", "run_as": manager}
    trigger = local.call("POST", "/automation/deal/e2e_mail/triggers", rule)
    assert trigger.status == 201, trigger.body
    created = local.call(
        "POST", "/items/deal", {"title": "Chairs", "pipeline_id": "e2e_mail", "emails": [CONTACT]}
    )
    deal = f"/items/deal/{created.body['id']}"

    # When a forged message claiming to be the contact's arrives (SES's checks fail)
    send(
        local,
        CONTACT,
        "<forged-e2e@mailclient.example>",
        "Go ahead",
        X_Local_Verdicts="spf=FAIL, dkim=FAIL, dmarc=FAIL",
    )
    # Then it is journaled as not applied, and the deal has not moved
    entry = eventually(lambda: not_applied(local, "<forged-e2e@mailclient.example>"))
    assert entry is not None, "the forged mail was not journaled"
    assert entry["outcome"] == "no_item" and "not authenticate" in entry["note"]
    assert local.call("GET", deal).body["stage_id"] == "new"
    assert local.call("GET", f"{deal}/journal").body["entries"] == []

    # When the contact writes, and the sender's server retries the same message
    for _ in range(2):
        send(local, CONTACT, "<go-ahead-e2e@mailclient.example>", "Go ahead")
    send(local, CONTACT, "<after-e2e@mailclient.example>", "One more thing")
    assert eventually(lambda: mail_on(local, deal, "<after-e2e@mailclient.example>"))

    # Then the deal moved once, by the trigger, recorded as the manager's, and the journal says why
    assert local.call("GET", deal).body["stage_id"] == "wrote"
    timeline = local.call("GET", f"{deal}/timeline").body["entries"]
    (move,) = [e for e in timeline if e["kind"] == "stage_changed"]
    assert move["by"] == manager and move["data"]["trigger"]["id"] == trigger.body["id"]
    assert move["data"]["event"]["source"] == "mail"
    assert len(mail_on(local, deal, "<go-ahead-e2e@mailclient.example>")) == 1
    journal = local.call("GET", f"{deal}/journal").body["entries"]
    verdicts = sorted((e["outcome"], [v["verdict"] for v in e["verdicts"]]) for e in journal)
    # the first message moved it; the later one found it there already
    assert verdicts == [("moved", ["moved"]), ("not_moved", ["already_there"])]

    # When a sender the CRM does not know writes, and the message is delivered twice
    for _ in range(2):
        send(local, f"Jane Doe <{NEW_SENDER}>", "<quote-e2e@newclient.example>", "Quote for 40 chairs")

    # Then one lead is in "Unprocessed", given to Anna, titled by the subject, with the mail on it
    def leads() -> list[dict]:
        return local.call("GET", f"/items?email={NEW_SENDER}").body

    (summary,) = eventually(leads)
    lead = local.call("GET", f"/items/lead/{summary['id']}").body
    assert (lead["pipeline_id"], lead["stage_id"], lead["responsible_id"]) == ("leads", "unprocessed", anna)
    assert lead["title"] == "Quote for 40 chairs" and lead["emails"] == [NEW_SENDER]
    assert eventually(lambda: mail_on(local, f"/items/lead/{summary['id']}", "<quote-e2e@newclient.example>"))
    send(local, f"Jane Doe <{NEW_SENDER}>", "<later-e2e@newclient.example>", "Also desks")
    assert eventually(lambda: mail_on(local, f"/items/lead/{summary['id']}", "<later-e2e@newclient.example>"))
    assert len(leads()) == 1
    assert len(mail_on(local, f"/items/lead/{summary['id']}", "<quote-e2e@newclient.example>")) == 1
