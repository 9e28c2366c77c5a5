"""Stripe's webhook signature, checked on the raw bytes (``crm.domain.payments``). Every header here is
made by the ``stripe`` package itself, never by the code under test; and what the local provider
signs is what the ``stripe`` package verifies."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta

import pytest
import stripe

from crm.domain.errors import Invalid, Unauthorized
from crm.domain.payments import PaymentAccount, Provider, stripe_signature, verify_stripe_signature

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SECRET = "whsec_" + "k3y" * 11
OLD = "whsec_" + "o1d" * 11
BODY = b'{\n  "id": "evt_1",\n  "object": "event",\n  "type": "invoice.paid"\n}'


def header(body: bytes, secret: str, at: datetime = NOW) -> str:
    return stripe.WebhookSignature.generate_signature_header(body.decode(), secret, int(at.timestamp()))


def test_a_header_stripe_makes_verifies_and_says_when_it_was_signed():
    assert verify_stripe_signature(BODY, header(BODY, SECRET), [SECRET], NOW) == NOW


@pytest.mark.parametrize(
    "made, words",
    [
        (lambda: header(BODY, OLD), "does not match"),  # another endpoint's secret
        (lambda: header(BODY + b" ", SECRET), "does not match"),  # over other bytes
        (lambda: header(BODY, SECRET).replace("v1=", "v0="), "no v1"),  # only the old scheme
        (lambda: "v1=" + header(BODY, SECRET).split("v1=")[1], "no timestamp"),
        (lambda: header(BODY, SECRET) + ",t=1", "no timestamp"),  # two timestamps
        (lambda: "", "no Stripe-Signature"),
        (lambda: "garbage", "no timestamp"),
    ],
)
def test_forged_or_malformed_signatures_are_refused(made, words):
    with pytest.raises(Unauthorized, match=words):
        verify_stripe_signature(BODY, made(), [SECRET], NOW)


def test_a_signature_outside_the_300_second_tolerance_is_a_replay_and_refused():
    for late in (timedelta(seconds=300), timedelta(seconds=-300)):
        assert verify_stripe_signature(BODY, header(BODY, SECRET, NOW - late), [SECRET], NOW)
    for late in (timedelta(seconds=301), timedelta(days=1), timedelta(seconds=-301)):
        with pytest.raises(Unauthorized, match="300 s"):
            verify_stripe_signature(BODY, header(BODY, SECRET, NOW - late), [SECRET], NOW)


def test_during_a_roll_stripe_signs_with_both_secrets_and_either_verifies():
    both = header(BODY, SECRET) + "," + header(BODY, OLD).split(",", 1)[1]
    assert verify_stripe_signature(BODY, both, [SECRET], NOW) == NOW
    assert verify_stripe_signature(BODY, both, [OLD], NOW) == NOW
    assert verify_stripe_signature(BODY, header(BODY, OLD), [SECRET, OLD], NOW) == NOW


def test_an_accounts_previous_secret_verifies_until_its_grace_period_ends():
    account = PaymentAccount(
        "acme",
        "pa_acme_0123456789ab",
        "Stripe",
        Provider.STRIPE,
        NOW,
        OLD,
        "sk_test_0123456789ab",
        "https://a.test/",
    )
    rolled = account.rolled(SECRET, NOW, timedelta(hours=24))
    assert rolled.signing_secrets(NOW) == (SECRET, OLD)
    assert rolled.signing_secrets(NOW + timedelta(hours=24)) == (SECRET,)
    twice = rolled.rolled("whsec_" + "n3w" * 11, NOW + timedelta(hours=1), timedelta(hours=1))
    assert twice.signing_secrets(NOW + timedelta(hours=1)) == ("whsec_" + "n3w" * 11, SECRET)  # two at most
    assert account.rolled(SECRET, NOW, timedelta(0)).signing_secrets(NOW) == (SECRET,)
    with pytest.raises(Invalid, match="grace"):
        account.rolled(SECRET, NOW, timedelta(days=31))


def test_what_the_local_provider_signs_the_stripe_package_verifies():
    signature = stripe_signature(BODY, SECRET, datetime.now(UTC))
    event = stripe.Webhook.construct_event(BODY.decode(), signature, SECRET)
    assert event["id"] == "evt_1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(BODY.decode(), signature, OLD)


def test_a_timestamp_past_any_date_is_refused_not_an_error():
    far = 999_999_999_999
    header = f"t={far},v1={hmac.new(SECRET.encode(), f'{far}.'.encode() + BODY, 'sha256').hexdigest()}"
    with pytest.raises(Unauthorized, match="300 s"):
        verify_stripe_signature(BODY, header, [SECRET], NOW)
