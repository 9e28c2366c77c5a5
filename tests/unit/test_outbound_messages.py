"""What an employee writes and logs, checked before anything is sent or stored (pure): mail drafts,
the sender, the MIME message composed, and logged activities."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes, policy

import pytest

from crm.domain.activities import Activity
from crm.domain.errors import Invalid
from crm.domain.outbound import MAX_SUBJECT, Draft, Sender, compose

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "values",
    [
        {"subject": "Hi"},
        {"subject": "", "text": "x"},
        {"subject": "   ", "text": "x"},
        {"subject": "Hi\r\nBcc: everyone@x.test", "text": "x"},
        {"subject": "x" * (MAX_SUBJECT + 1), "text": "x"},
        {"subject": "Hi", "text": "x" * 100_001},
        {"subject": "Hi", "html": "x" * 200_001},
    ],
)
def test_a_draft_needs_a_one_line_subject_and_a_bounded_body(values):
    with pytest.raises(Invalid):
        Draft(**values)


def test_a_sender_is_a_normal_address_with_a_one_line_name():
    assert Sender(" Sales@Acme.test ", "Acme Sales") == Sender("sales@acme.test", "Acme Sales")
    assert Sender("sales@acme.test").domain == "acme.test"
    for address, name in (("not an address", None), ("a@b.test", "x\ny"), ("a@b.test", "x" * 201)):
        with pytest.raises(Invalid):
            Sender(address, name)


def test_the_message_has_text_and_html_as_alternatives_and_the_id_in_references():
    raw = compose(
        Sender("sales@acme.test", "Ёлка Trading"),
        "maria@client.test",
        "Ваше предложение",
        "Text",
        "<p>HTML</p>",
        "<tok.en@acme.test>",
        AT,
    )
    message = message_from_bytes(raw, policy=policy.default)
    assert message["From"].addresses[0].display_name == "Ёлка Trading"
    assert str(message["Subject"]) == "Ваше предложение"
    assert message["Message-ID"] == message["References"] == "<tok.en@acme.test>"
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content().strip() == "Text"
    assert message.get_body(("html",)).get_content().strip() == "<p>HTML</p>"
    html_only = message_from_bytes(
        compose(Sender("s@a.test"), "m@c.test", "S", None, "<p>x</p>", "<t@a.test>", AT),
        policy=policy.default,
    )
    assert html_only.get_content_type() == "text/html"


def test_an_activity_happened_and_is_kept_in_utc():
    logged = Activity("call", "outgoing", datetime(2026, 3, 2, 11, 0, tzinfo=timezone(timedelta(hours=2))))
    assert logged.logged_at(AT) == AT and logged.logged_at(AT).tzinfo is UTC
    assert Activity("call", "incoming", None).logged_at(AT) == AT
    with pytest.raises(Invalid, match="future"):
        Activity("call", "outgoing", AT + timedelta(hours=1)).logged_at(AT)


@pytest.mark.parametrize(
    "values",
    [
        {"kind": "visit", "direction": "outgoing"},
        {"kind": "call", "direction": "up"},
        {"kind": "email", "direction": "outgoing", "duration_seconds": 10},
        {"kind": "call", "direction": "outgoing", "duration_seconds": 86_401},
        {"kind": "call", "direction": "outgoing", "message_id": "<x@y>"},
        {"kind": "call", "direction": "outgoing", "subject": "a\nb"},
        {"kind": "call", "direction": "outgoing", "at": datetime(2026, 1, 1)},
    ],
)
def test_an_activity_says_what_kind_it_is_and_nothing_it_cannot_have(values):
    with pytest.raises(Invalid):
        Activity(**{"at": None} | values)
