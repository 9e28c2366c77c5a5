"""*Send email*: a mail to the client through the CRM mail, its templates rendered for their place
(a header line, escaped HTML), once per run whatever the attempts, to the item's own address only."""

from __future__ import annotations

import pytest

from crm.domain.model import Employee
from crm.domain.robots import RobotFailed
from tests.fakes import FakePorts
from tests.unit.builders import deal
from tests.unit.robots.running import ran, refused

CLIENT = deal(emails=["buyer@client.test", "accounts@client.test"], company="<b>Client</b> & Co")


def test_the_client_gets_the_mail_with_earlier_robots_outputs_and_escaped_html():
    fakes = FakePorts()
    params = {
        "subject": "Invoice for {{ item.title }}",
        "body_text": "Pay here: {{ robots.r0.payment_url }}\nYours, {{ responsible.name }}",
        "body_html": "<p>Dear {{ contact.company }}, <a href='{{ robots.r0.payment_url }}'>pay</a></p>",
    }

    outputs, _ = ran(
        CLIENT,
        "send_email",
        params,
        fakes=fakes,
        earlier_outputs={"r0": {"payment_url": "https://pay.example/cs_1"}},
        responsible=Employee("anna", "Anna Petrova", "anna@acme.test"),
    )

    (mail,) = fakes.mailer.sent
    assert (mail.tenant_id, mail.to, mail.item) == ("acme", "buyer@client.test", "deal/d-1")
    assert mail.draft.subject == "Invoice for Ten laptops"
    assert mail.draft.text == "Pay here: https://pay.example/cs_1\nYours, Anna Petrova"
    assert mail.draft.html == (
        "<p>Dear &lt;b&gt;Client&lt;/b&gt; &amp; Co, <a href='https://pay.example/cs_1'>pay</a></p>"
    )
    # The mailer's id for the mail sent under the run's key (asking again sends nothing).
    sent = fakes.mailer.send_to_client(
        "acme", CLIENT, mail.draft, to=None, idempotency_key="robot-run:acme:run-r1"
    )
    assert outputs == {"message_id": sent.id} and len(fakes.mailer.sent) == 1


def test_a_value_in_the_subject_cannot_add_a_header():
    fakes = FakePorts()
    item = deal(emails=["buyer@client.test"], title="Laptops\r\nBcc: victim@else.test")

    ran(item, "send_email", {"subject": "About {{ item.title }}", "body_text": "Hi"}, fakes=fakes)

    (mail,) = fakes.mailer.sent
    assert mail.draft.subject == "About Laptops Bcc: victim@else.test"
    assert mail.draft.html is None


def test_to_picks_another_of_the_items_addresses_case_insensitively():
    fakes = FakePorts()

    ran(
        CLIENT, "send_email", {"subject": "S", "body_text": "B", "to": "{{ contact.emails[1] }}"}, fakes=fakes
    )
    ran(
        CLIENT,
        "send_email",
        {"subject": "S", "body_text": "B", "to": "Accounts@Client.TEST"},
        rule_id="r2",
        fakes=fakes,
    )

    assert [mail.to for mail in fakes.mailer.sent] == ["accounts@client.test", "accounts@client.test"]


def test_an_address_that_is_not_the_items_is_refused_and_nothing_is_sent():
    fakes = FakePorts()

    with pytest.raises(RobotFailed) as failed:
        ran(CLIENT, "send_email", {"subject": "S", "body_text": "B", "to": "someone@else.test"}, fakes=fakes)

    assert not failed.value.retryable
    assert "'someone@else.test' is not one of the item's emails" in str(failed.value)
    assert fakes.mailer.sent == []


def test_an_item_without_email_fails_for_good():
    fakes = FakePorts()

    with pytest.raises(RobotFailed) as failed:
        ran(deal(), "send_email", {"subject": "S", "body_text": "B"}, fakes=fakes)

    assert not failed.value.retryable and str(failed.value) == "deal/d-1 has no email"
    assert fakes.mailer.sent == []


def test_the_same_run_twice_sends_one_mail_and_a_failed_attempt_is_retried():
    fakes = FakePorts()
    fakes.mailer.fail_next(1)
    params = {"subject": "S", "body_text": "B"}

    with pytest.raises(RobotFailed) as failed:
        ran(CLIENT, "send_email", params, fakes=fakes)
    first, _ = ran(CLIENT, "send_email", params, fakes=fakes)
    again, _ = ran(CLIENT, "send_email", params, fakes=fakes)

    assert failed.value.retryable
    assert first == again
    assert len(fakes.mailer.sent) == 1


@pytest.mark.parametrize(
    ("subject", "body", "message"),
    [
        ("{{ item.title }}{{ '' }}", "   {{ item.fields.missing }}  ", "the mail's body rendered empty"),
        ("{{ item.fields.missing }}", "Hi", "subject: rendered empty"),
        ("S", "{{ item.__class__() }}", "body_text: the template could not be rendered"),
    ],
)
def test_templates_that_render_to_nothing_or_are_refused_fail_for_good(subject, body, message):
    fakes = FakePorts()

    with pytest.raises(RobotFailed) as failed:
        ran(CLIENT, "send_email", {"subject": subject, "body_text": body}, fakes=fakes)

    assert not failed.value.retryable and message in str(failed.value)
    assert fakes.mailer.sent == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"subject": "Hello"}, "a mail has a body: body_text, body_html or both"),
        ({"body_text": "Hi"}, "subject: Field required"),
        ({"subject": "", "body_text": "Hi"}, "subject: String should have at least 1 character"),
        (
            {"subject": "{{ item.title", "body_text": "Hi"},
            "subject: Value error, template: not a valid template",
        ),
        ({"subject": "S", "body_html": "{% if %}"}, "body_html: Value error, template: not a valid template"),
        ({"subject": "S", "body_text": "B", "to": "not an address"}, "to: Value error, an email address"),
        ({"subject": "S", "body_text": "B", "cc": "x@y.test"}, "cc: Extra inputs are not permitted"),
        ({"subject": "S", "body_text": "B", "attachments_from": ["r1"]}, "attachments_from: Extra inputs"),
    ],
)
def test_bad_params_are_refused_when_the_robot_is_saved(params, message):
    assert message in refused("send_email", params)
