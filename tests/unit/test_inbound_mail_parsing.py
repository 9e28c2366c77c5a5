"""Inbound mail as the CRM reads it: senders, subject, message id, a text snippet."""

from crm.domain.mail import parse_inbound


def test_inbound_mail_without_from_is_attributed_to_the_envelope_sender():
    bare = parse_inbound(b"Subject: Chairs\n\nWhen can you deliver?", "ses-1", "Buyer@Northwind.example")
    assert bare.senders == ("buyer@northwind.example",)
    assert bare.message_id == "ses-1" and bare.subject == "Chairs" and bare.snippet == "When can you deliver?"
    signed = parse_inbound(
        b"From: Ivan <ivan@client.test>\nReply-To: orders@client.test\nMessage-ID: <m1@client.test>\n\nHi",
        "ses-2",
        "bounce@mailer.test",
    )
    assert signed.senders == ("orders@client.test", "ivan@client.test")
    assert signed.message_id == "<m1@client.test>"
