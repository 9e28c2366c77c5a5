"""Whether SES's verdicts authenticate an inbound message's From address (crm.domain.mail's rule):
DMARC PASS, or SPF PASS for an aligned envelope sender, or DKIM PASS with only aligned signers."""

import pytest

from crm.domain.mail import Verdicts, aligned, authenticated_sender, parse_inbound


def verdicts(spf="FAIL", dkim="FAIL", dmarc="FAIL") -> Verdicts:
    return Verdicts(spf=spf, dkim=dkim, dmarc=dmarc, spam="PASS", virus="PASS")


def mail(sender="Ivan <ivan@client.test>", *signers: str):
    signatures = b"".join(f"DKIM-Signature: v=1; d={d}; s=s1; b=x\n".encode() for d in signers)
    return parse_inbound(signatures + f"From: {sender}\nReply-To: x@evil.test\n\nHi".encode(), "ses")


def test_dmarc_pass_authenticates_the_from_address():
    assert authenticated_sender(mail(), verdicts(dmarc="PASS"), "bounce@evil.test") == "ivan@client.test"


@pytest.mark.parametrize("envelope", ["ivan@client.test", "bounces@mail.client.test", "x@Client.Test"])
def test_spf_pass_authenticates_when_the_envelope_sender_is_aligned(envelope):
    assert authenticated_sender(mail(), verdicts(spf="PASS", dmarc="GRAY"), envelope) == "ivan@client.test"


@pytest.mark.parametrize("envelope", ["ivan@evil.test", "x@client.test.evil.test", "", "x@test"])
def test_spf_pass_for_another_domain_authenticates_nothing(envelope):
    assert authenticated_sender(mail(), verdicts(spf="PASS", dmarc="GRAY"), envelope) is None


def test_dkim_pass_authenticates_when_every_signature_is_aligned():
    signed = mail("ivan@client.test", "client.test", "eu.client.test")
    assert (
        authenticated_sender(signed, verdicts(dkim="PASS", dmarc="GRAY"), "x@evil.test") == "ivan@client.test"
    )


def test_dkim_pass_with_a_foreign_signature_or_none_authenticates_nothing():
    # The verdict says a signature verified, not whose: the attacker's own may be the one.
    forged = mail("ivan@client.test", "evil.test", "client.test")
    assert authenticated_sender(forged, verdicts(dkim="PASS", dmarc="GRAY"), "x@evil.test") is None
    assert authenticated_sender(mail(), verdicts(dkim="PASS", dmarc="GRAY"), "x@evil.test") is None


@pytest.mark.parametrize("status", ["FAIL", "GRAY", "PROCESSING_FAILED"])
def test_verdicts_other_than_pass_authenticate_nothing(status):
    signed = mail("ivan@client.test", "client.test")
    assert authenticated_sender(signed, verdicts(status, status, status), "ivan@client.test") is None


def test_mail_without_one_from_address_is_never_authenticated():
    assert (
        authenticated_sender(mail("a@client.test, b@client.test"), verdicts("PASS", "PASS", "PASS"), "")
        is None
    )


def test_alignment_is_the_same_domain_or_a_subdomain_never_a_bare_suffix():
    assert aligned("client.test", "client.test") and aligned("mail.client.test", "client.test")
    assert aligned("client.test", "a.b.client.test")
    assert not aligned("client.test", "otherclient.test")
    assert not aligned("test", "client.test")
    assert not aligned("", "client.test")


def test_spam_or_virus_fail_is_refused():
    assert Verdicts("PASS", "PASS", "PASS", spam="FAIL", virus="PASS").refused
    assert Verdicts("PASS", "PASS", "PASS", spam="PASS", virus="FAIL").refused
    assert not Verdicts("FAIL", "FAIL", "FAIL", spam="GRAY", virus="PASS").refused
