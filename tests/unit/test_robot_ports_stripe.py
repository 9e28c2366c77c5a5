"""Payment links on Stripe Checkout (``crm.adapters.payments.StripeCheckout``) over the HTTP port:
the request as Stripe's API takes it, and Stripe's answers as Stripe gives them (the session object,
its error object, a throttle with Retry-After)."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest

from crm.adapters.payments import StripeCheckout
from crm.domain.ports import HttpAnswer, PaymentLink
from crm.domain.robots import RobotFailed
from tests.fakes import FakeHttp
from tests.unit.builders import deal

SESSION = {
    "id": "cs_test_a1B2c3",
    "object": "checkout.session",
    "url": "https://checkout.stripe.com/c/pay/cs_test_a1B2c3#fidkdWxOYHwnPyd1blpxYHZxWjA0",
    "mode": "payment",
    "status": "open",
    "client_reference_id": "deal_25",
    "metadata": {"tenant_id": "acme", "item_type": "deal", "item_id": "25"},
}
JSON = {"content-type": "application/json", "request-id": "req_1"}


def stripe_error(message: str, kind: str = "invalid_request_error", **more) -> bytes:
    return json.dumps({"error": {"message": message, "type": kind, **more}}).encode()


def checkout(*answers: HttpAnswer) -> tuple[StripeCheckout, FakeHttp]:
    http = FakeHttp(list(answers))
    stripe = StripeCheckout(
        http,
        "sk_test_123",
        success_url="https://shop.acme.test/paid",
        cancel_url="https://shop.acme.test/cancelled",
    )
    return stripe, http


def link(stripe: StripeCheckout, **overrides) -> PaymentLink:
    values = {"amount_minor": 125000, "currency": "EUR", "description": "Forklift, deposit"}
    return stripe.payment_link(
        "acme", deal(id="25", emails=["maria@client.test"]), **{**values, **overrides}, idempotency_key="k1"
    )


def test_a_checkout_session_is_asked_as_stripe_takes_it_and_its_url_is_the_link():
    stripe, http = checkout(HttpAnswer(200, JSON, json.dumps(SESSION).encode()))
    assert link(stripe) == PaymentLink(SESSION["id"], SESSION["url"])
    (request,) = http.requests
    assert request.url == "https://api.stripe.com/v1/checkout/sessions"
    assert request.headers["Authorization"] == "Bearer sk_test_123"
    assert request.headers["Idempotency-Key"] == "k1"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(request.body.decode(), strict_parsing=True)) == {
        "mode": "payment",
        "line_items[0][price_data][currency]": "eur",
        "line_items[0][price_data][unit_amount]": "125000",
        "line_items[0][price_data][product_data][name]": "Forklift, deposit",
        "line_items[0][quantity]": "1",
        "success_url": "https://shop.acme.test/paid",
        "cancel_url": "https://shop.acme.test/cancelled",
        "client_reference_id": "deal_25",
        "metadata[item_type]": "deal",
        "metadata[item_id]": "25",
        "invoice_creation[enabled]": "true",
        # The item, for the payment's webhooks (crm.ingest.stripe): on the session, its payment
        # intent and its invoice.
        "metadata[crm_ref]": "deal/25",
        "metadata[tenant_id]": "acme",
        "payment_intent_data[metadata][crm_ref]": "deal/25",
        "payment_intent_data[metadata][tenant_id]": "acme",
        "invoice_creation[invoice_data][metadata][crm_ref]": "deal/25",
        "invoice_creation[invoice_data][metadata][tenant_id]": "acme",
        "customer_email": "maria@client.test",
    }
    assert request.timeout == 10


def test_stripes_refusal_is_a_failure_in_its_words_not_retried():
    refused = HttpAnswer(
        400, JSON, stripe_error("Invalid currency: xyz.", param="line_items[0][price_data][currency]")
    )
    stripe, _ = checkout(refused)
    with pytest.raises(RobotFailed, match=r"Stripe answered 400: Invalid currency: xyz\.") as failed:
        link(stripe, currency="XYZ")
    assert not failed.value.retryable


def test_a_bad_key_is_not_retried():
    stripe, _ = checkout(HttpAnswer(401, JSON, stripe_error("Invalid API Key provided: sk_test_***123")))
    with pytest.raises(RobotFailed, match="401: Invalid API Key") as failed:
        link(stripe)
    assert not failed.value.retryable


def test_a_throttle_is_retried_after_the_time_stripe_asks():
    busy = HttpAnswer(
        429, {**JSON, "retry-after": "7"}, stripe_error("Too many requests", "rate_limit_error")
    )
    stripe, _ = checkout(busy)
    with pytest.raises(RobotFailed, match="429: Too many requests") as failed:
        link(stripe)
    assert (failed.value.retryable, failed.value.retry_after) == (True, 7)


def test_a_server_error_is_retried_and_the_same_key_answers_the_same_session():
    stripe, http = checkout(
        HttpAnswer(500, JSON, stripe_error("An unknown error occurred", "api_error")),
        HttpAnswer(200, JSON, json.dumps(SESSION).encode()),
    )
    with pytest.raises(RobotFailed) as failed:
        link(stripe)
    assert failed.value.retryable
    assert link(stripe).id == SESSION["id"]
    assert [r.headers["Idempotency-Key"] for r in http.requests] == ["k1", "k1"]


def test_stripe_should_retry_overrides_the_status():
    stripe, _ = checkout(
        HttpAnswer(
            409,
            {**JSON, "stripe-should-retry": "false"},
            stripe_error(
                "Keys for idempotent requests can only be used with the same parameters", "idempotency_error"
            ),
        )
    )
    with pytest.raises(RobotFailed, match="same parameters") as failed:
        link(stripe)
    assert not failed.value.retryable


def test_an_answer_without_a_session_is_retried():
    stripe, _ = checkout(HttpAnswer(200, {"content-type": "text/html"}, b"<html>maintenance</html>"))
    with pytest.raises(RobotFailed, match="no checkout session") as failed:
        link(stripe)
    assert failed.value.retryable


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"amount_minor": 0}, "positive"),
        ({"amount_minor": 12.5}, "positive"),
        ({"currency": "euro"}, "three-letter currency"),
        ({"description": "  "}, "description is empty"),
    ],
)
def test_what_no_provider_takes_is_refused_without_asking(overrides, message):
    stripe, http = checkout()
    with pytest.raises(RobotFailed, match=message) as failed:
        link(stripe, **overrides)
    assert not failed.value.retryable
    assert http.requests == []
