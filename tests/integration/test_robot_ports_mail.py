"""The robots' mail (``crm.service.robots.mail.RobotMailer``) against moto's SES and DynamoDB: mail to
a client is the CRM mail (tracked, threaded, on the timeline, firing *email sent*, once per key);
mail to an employee is a plain notification from the tenant's sender, once per key; refusals are
robot failures, retried only when a retry may pass."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from crm.adapters import items
from crm.adapters.clients import client
from crm.domain.model import Employee
from crm.domain.ports import Attachment, MailDraft
from crm.domain.robots import RobotFailed
from crm.service.robots.mail import RobotMailer
from tests.integration.test_management_api import api as api  # a fixture
from tests.integration.test_management_api import call
from tests.integration.test_outbound_mail import crm as crm  # a fixture
from tests.integration.test_outbound_mail import outbox, sent_message, stage, tracked_urls, withdraw

PUBLIC = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/dev"
ANNA = Employee("anna", "Anna", "anna@acme.test")
OFFER = MailDraft(
    "Your offer",
    text="See https://shop.acme.test/offers/7",
    html='<a href="https://shop.acme.test/offers/7">offer</a>',
)


def deal_of(crm):
    return items.get("acme", "deal", crm["id"])


def ses_failing(monkeypatch, code: str, times: int = 1) -> None:
    ses = client("ses")
    send, left = ses.send_raw_email, [times]

    def failing(**kwargs):
        if left[0]:
            left[0] -= 1
            raise ClientError({"Error": {"Code": code, "Message": f"{code}: no"}}, "SendRawEmail")
        return send(**kwargs)

    monkeypatch.setattr(ses, "send_raw_email", failing)


def test_a_robots_mail_to_the_client_is_the_crm_mail_tracked_and_on_the_timeline(api, crm):
    sent = RobotMailer(PUBLIC).send_to_client("acme", deal_of(crm), OFFER, to=None, idempotency_key="run-1")
    message = sent_message()
    assert message["To"] == "maria@client.test"
    assert message["From"] == "Acme Sales <sales@acme.test>"
    pixel, links = tracked_urls(message)
    assert pixel.startswith(f"{PUBLIC}/t/o/") and links[0].startswith(f"{PUBLIC}/t/c/")
    assert sent.details == {"to": "maria@client.test", "service_message_id": outbox()[-1].id}
    entries = call(api, "GET", f"/items/deal/{crm['id']}/timeline").body["entries"]
    (mailed,) = [e for e in entries if e["kind"] == "email_sent"]
    assert (mailed["by"], mailed["data"]["message_id"]) == (None, sent.id)
    assert stage(api, crm) == "offer_sent"  # *email sent* fired


def test_a_retried_run_sends_the_client_no_second_mail(api, crm):
    mailer = RobotMailer(PUBLIC)
    first = mailer.send_to_client("acme", deal_of(crm), OFFER, to=None, idempotency_key="run-1")
    again = mailer.send_to_client("acme", deal_of(crm), OFFER, to=None, idempotency_key="run-1")
    assert again == first
    assert len(outbox()) == 1


def test_a_throttled_mail_service_is_retried_and_the_retry_sends(api, crm, monkeypatch):
    ses_failing(monkeypatch, "Throttling")
    mailer = RobotMailer(PUBLIC)
    with pytest.raises(RobotFailed, match="busy") as failed:
        mailer.send_to_client("acme", deal_of(crm), OFFER, to=None, idempotency_key="run-1")
    assert failed.value.retryable
    assert outbox() == []
    mailer.send_to_client("acme", deal_of(crm), OFFER, to=None, idempotency_key="run-1")
    assert len(outbox()) == 1


@pytest.mark.parametrize(
    ("draft", "to", "message"),
    [
        (MailDraft("Hi\r\nBcc: all@x.test", text="x"), None, "subject: one line"),
        (MailDraft("Hi"), None, "give a text or an html body"),
        (MailDraft("Hi", text="x"), "someone@else.test", "is not one of the emails"),
        (
            MailDraft("Hi", text="x", attachments=(Attachment("offer.pdf", "application/pdf", b"%PDF"),)),
            None,
            r"no attachments yet \(offer\.pdf\)",
        ),
    ],
)
def test_a_mail_the_crm_cannot_send_fails_for_good_and_nothing_goes_out(api, crm, draft, to, message):
    with pytest.raises(RobotFailed, match=message) as failed:
        RobotMailer(PUBLIC).send_to_client("acme", deal_of(crm), draft, to=to, idempotency_key="run-1")
    assert not failed.value.retryable
    assert outbox() == []


def test_a_refused_mail_or_a_withdrawn_sender_fails_for_good(api, crm, monkeypatch):
    ses_failing(monkeypatch, "MessageRejected")
    with pytest.raises(RobotFailed, match="refused the message") as refused:
        RobotMailer(PUBLIC).send_to_client("acme", deal_of(crm), OFFER, to=None, idempotency_key="run-1")
    withdraw("acme", "acme.test")
    with pytest.raises(RobotFailed, match="no longer granted") as withdrawn:
        RobotMailer(PUBLIC).send_to_client("acme", deal_of(crm), OFFER, to=None, idempotency_key="run-2")
    assert (refused.value.retryable, withdrawn.value.retryable) == (False, False)
    assert outbox() == []


# ---------------------------------------------------------------- to employees


def test_a_notification_to_an_employee_is_plain_mail_from_the_sender_once_per_key(api, crm):
    mailer = RobotMailer(PUBLIC)
    note = MailDraft("Forklift: still in New", text="The deal waits for you.")
    first = mailer.send_to_employee("acme", ANNA, note, idempotency_key="run-1:notify:anna")
    again = mailer.send_to_employee("acme", ANNA, note, idempotency_key="run-1:notify:anna")
    assert again == first
    assert first.id == outbox()[-1].id and first.details == {"to": "anna@acme.test"}
    (message,) = [sent_message()]
    assert (message["To"], message["From"]) == ("anna@acme.test", "Acme Sales <sales@acme.test>")
    assert message["Subject"] == "Forklift: still in New"
    assert message.get_body(preferencelist=("plain",)).get_content().strip() == "The deal waits for you."
    assert message["Message-ID"].endswith("@acme.test>")
    entries = call(api, "GET", f"/items/deal/{crm['id']}/timeline").body["entries"]
    assert not [e for e in entries if e["kind"] == "email_sent"]  # not the client's thread


def test_an_employee_notification_refused_by_ses_frees_the_key_and_a_throttle_is_retried(
    api, crm, monkeypatch
):
    note = MailDraft("Reminder", text="Call the client")
    ses_failing(monkeypatch, "Throttling")
    with pytest.raises(RobotFailed, match="busy") as throttled:
        RobotMailer(PUBLIC).send_to_employee("acme", ANNA, note, idempotency_key="k")
    assert throttled.value.retryable
    RobotMailer(PUBLIC).send_to_employee("acme", ANNA, note, idempotency_key="k")
    assert len(outbox()) == 1


def test_an_employee_notification_without_a_usable_sender_fails_for_good(api, crm):
    note = MailDraft("Reminder", text="Call the client")
    withdraw("acme", "acme.test")
    with pytest.raises(RobotFailed, match="no longer granted") as withdrawn:
        RobotMailer(PUBLIC).send_to_employee("acme", ANNA, note, idempotency_key="k1")
    with pytest.raises(RobotFailed, match="no sender is configured") as none:
        RobotMailer(PUBLIC).send_to_employee("globex", ANNA, note, idempotency_key="k2")
    assert (withdrawn.value.retryable, none.value.retryable) == (False, False)
    assert outbox() == []
