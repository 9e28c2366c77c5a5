"""Inbound mail as the CRM reads it: the sender (From only), subject, message id, a text snippet,
whatever the sender put in the message."""

import time

from crm.domain.mail import (
    MESSAGE_ID_LIMIT,
    SNIPPET_LIMIT,
    SUBJECT_LIMIT,
    THREAD_LIMIT,
    mailbox_of,
    parse_inbound,
)


def test_the_sender_is_the_from_address_never_reply_to_or_the_envelope():
    signed = parse_inbound(
        b"From: Ivan <Ivan@Client.test>\nReply-To: orders@client.test\nSender: bulk@mailer.test\n"
        b"Message-ID: <m1@client.test>\n\nHi",
        "ses-2",
    )
    assert signed.sender == "ivan@client.test"
    assert signed.from_header == "Ivan <Ivan@Client.test>"
    assert signed.message_id == "<m1@client.test>"


def test_mail_without_one_from_address_has_no_sender():
    bare = parse_inbound(b"Subject: Chairs\n\nWhen can you deliver?", "ses-1")
    assert bare.sender is None
    assert bare.message_id == "ses-1" and bare.subject == "Chairs" and bare.snippet == "When can you deliver?"
    two_addresses = parse_inbound(b"From: a@client.test, b@client.test\n\nx", "ses-3")
    two_headers = parse_inbound(b"From: a@client.test\nFrom: b@client.test\n\nx", "ses-4")
    not_an_address = parse_inbound(b"From: Ivan\n\nx", "ses-5")
    assert two_addresses.sender is two_headers.sender is not_an_address.sender is None
    assert two_headers.from_header == "a@client.test, b@client.test"


def test_the_same_message_id_is_the_same_message_whatever_the_delivery():
    first = parse_inbound(b"From: a@client.test\nMessage-ID: <m1@client.test>\n\nx", "ses-1")
    again = parse_inbound(b"From: a@client.test\nMessage-ID:  <m1@client.test> \n\nx", "ses-2")
    other = parse_inbound(b"From: a@client.test\nMessage-ID: <m2@client.test>\n\nx", "ses-1")
    assert first.key == again.key != other.key


def test_encoded_word_subjects_lose_their_cr_lf():
    mail = parse_inbound(
        b"From: a@client.test\nSubject: =?utf-8?q?Invoice=0D=0ABcc:_all@evil.test?=\n\nx", "s"
    )
    assert mail.subject == "Invoice Bcc: all@evil.test"
    tabs = parse_inbound(b"From: a@client.test\nSubject: =?utf-8?b?QQlCAEM=?=\n\nx", "s")
    assert tabs.subject == "A B C"


def test_a_600_kb_folded_subject_is_cut_quickly():
    folded = "\r\n ".join(f"word{i}" for i in range(60_000))
    long_id = f"<{'x' * 5000}@client.test>"
    raw = f"From: a@client.test\r\nSubject: {folded}\r\nMessage-ID: {long_id}\r\n\r\nHi".encode()
    assert len(raw) > 600_000
    started = time.monotonic()
    mail = parse_inbound(raw, "s")
    assert time.monotonic() - started < 0.5
    assert len(mail.subject) == SUBJECT_LIMIT and mail.subject.startswith("word0 word1 word2")
    assert len(mail.message_id) == MESSAGE_ID_LIMIT
    assert mail.sender == "a@client.test" and mail.snippet == "Hi"


def test_an_unknown_charset_decodes_with_replacement():
    raw = (
        b"From: a@client.test\nSubject: =?x-klingon?q?Qapla=21?=\n"
        b"Content-Type: text/plain; charset=x-klingon\n\nnuqneH \xff\xfe ghItlh"
    )
    mail = parse_inbound(raw, "s")
    assert mail.subject == "Qapla!"
    assert mail.snippet == "nuqneH \ufffd\ufffd ghItlh"


def test_broken_mime_is_read_as_far_as_it_goes():
    no_boundary = parse_inbound(
        b"From: a@client.test\nSubject: \xe9t\xe9\nContent-Type: multipart/mixed\n\n--zzz\nbroken", "s"
    )
    assert no_boundary.sender == "a@client.test" and no_boundary.snippet == ""
    assert no_boundary.subject == "\ufffdt\ufffd"
    bad_base64 = parse_inbound(
        b'From: a@client.test\nContent-Type: multipart/alternative; boundary="b"\n\n--b\n'
        b"Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n!!!not base64@@@\n--b--\n",
        "s",
    )
    assert bad_base64.sender == "a@client.test"
    assert parse_inbound(b"", "s").message_id == "s"
    assert parse_inbound(b"\x00\x01\x02 garbage", "s").sender is None


def test_the_snippet_is_the_readable_text_capped():
    html = parse_inbound(
        b"From: a@client.test\nContent-Type: text/html\n\n<html><head><style>p {color: red}</style>"
        b"<script>track()</script></head><body><p>We accept</p><p>the quote &amp; terms</p></body></html>",
        "s",
    )
    assert html.snippet == "We accept the quote & terms"
    long = parse_inbound(b"From: a@client.test\n\n" + b"word " * 10_000, "s")
    assert len(long.snippet) == SNIPPET_LIMIT


def test_dkim_signing_domains_are_read_from_every_signature():
    mail = parse_inbound(
        b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\n d=Client.Test; s=s1; b=abc\n"
        b"DKIM-Signature: v=1; a=rsa-sha256; d=mailer.test; s=s2; b=def\n"
        b"DKIM-Signature: v=1; s=s3; b=no-domain\nFrom: a@client.test\n\nx",
        "s",
    )
    assert mail.signing_domains == ("client.test", "mailer.test", "")


def test_a_tenant_mailbox_address_names_the_tenant_and_its_token():
    assert mailbox_of(" Demo+Ab12@Inbound.Example.com", "inbound.example.com") == ("demo", "ab12")
    assert mailbox_of("demo@inbound.example.com", "inbound.example.com") is None
    assert mailbox_of("demo+ab12@elsewhere.example", "inbound.example.com") is None
    assert mailbox_of("x#y+ab12@inbound.example.com", "inbound.example.com") is None


# ---------------------------------------------------------------- which mail a reply answers


def test_a_reply_names_its_parent_first_then_the_thread_newest_first():
    reply = parse_inbound(
        b"From: a@client.test\nIn-Reply-To: <parent@crm.test>\n"
        b"References: <root@crm.test>\n <middle@client.test> <parent@crm.test>\n\nYes",
        "ses-1",
    )
    assert reply.replies_to == ("<parent@crm.test>", "<middle@client.test>", "<root@crm.test>")
    assert parse_inbound(b"From: a@client.test\n\nNew thread", "ses-2").replies_to == ()


def test_junk_in_the_thread_headers_is_skipped_and_the_thread_bounded():
    junk = (
        b"From: a@client.test\nIn-Reply-To: your mail of Monday <no-at-sign> <@x> <x@> <a@b@c>\n"
        b"References: =?utf-8?q?=FF?= <ok@crm.test> <sp ace@x.test> \xff\xfe <"
        + b"x"
        * 2000
        + b"@long.test>\n"
        b"References: <second-header@crm.test>\n\nx"
    )
    assert parse_inbound(junk, "ses-1").replies_to == ("<second-header@crm.test>", "<ok@crm.test>")
    many = b" ".join(f"<m{n}@client.test>".encode() for n in range(500))
    long_thread = parse_inbound(b"From: a@client.test\nReferences: " + many + b"\n\nx", "ses-2")
    assert len(long_thread.replies_to) == THREAD_LIMIT
    assert long_thread.replies_to[0] == "<m499@client.test>"


def test_a_huge_references_header_is_read_in_time():
    many = b"\n ".join(f"<m{n}@client.test>".encode() for n in range(40_000))
    started = time.perf_counter()
    parsed = parse_inbound(b"From: a@client.test\nReferences: " + many + b"\n\nx", "ses-1")
    assert time.perf_counter() - started < 1.0
    assert 0 < len(parsed.replies_to) <= THREAD_LIMIT
