"""Any other payment provider through API Gateway's shapes: a generic payment account made through
the management API (its secret shown once), payment reports signed in the CRM's scheme by the
``stripe`` package's own signer (the same scheme), posted as REST proxy events to
IngestPaymentsFunction. A payment moves the deal once and is counted once; forged, expired,
malformed and misaddressed reports change nothing."""

from __future__ import annotations

import copy
import json
import random
from datetime import timedelta

import pytest
import stripe

from tests.conftest import lambda_context, load_event, load_handler
from tests.integration.test_management_api import api as api
from tests.integration.test_management_api import call, new_deal
from tests.integration.test_management_api import sales as sales
from tests.integration.test_payments_stripe import NOW, state
from tests.integration.test_payments_stripe import account as account
from tests.integration.test_payments_stripe import clock as clock

SAMPLE = load_event("ingest_payments/generic_payment.json")


@pytest.fixture
def generic(api, account):
    """A generic account beside the Stripe one (whose triggers it shares): invoice paid in full ->
    "Preparing documents"; order paid, 30 % enough -> "Awaiting payment"."""
    created = call(
        api, "POST", "/automation/payment-accounts", {"name": "Bank transfers", "provider": "generic"}
    )
    assert created.status == 201, created.body
    return created.body


def report(deal_id: str, **more) -> dict:
    return {
        "event_id": "pay-1",
        "kind": "invoice",
        "item": f"deal/{deal_id}",
        "payment_id": "p-1",
        "document": "INV-2026-118",
        "amount": 90000,
        "total": 90000,
        "currency": "EUR",
        "paid_at": "2026-11-23T08:59:00+00:00",
    } | more


def deliver(account_id: str, body: dict | bytes, secret: str | None, at=NOW) -> tuple[int, dict]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    event = copy.deepcopy(SAMPLE)
    headers = {k: v for k, v in event["headers"].items() if k != "X-Crm-Signature"}
    if secret is not None:
        headers["X-Crm-Signature"] = stripe.WebhookSignature.generate_signature_header(
            raw.decode(), secret, int(at.timestamp())
        )
    path = f"/payments/events/{account_id}"
    event.update(
        path=path,
        pathParameters={"account_id": account_id},
        headers=headers,
        multiValueHeaders={k: [v] for k, v in headers.items()},
        body=raw.decode(),
    )
    event["requestContext"]["path"] = f"/dev{path}"
    answer = load_handler("ingest_payments").lambda_handler(event, lambda_context())
    return answer["statusCode"], json.loads(answer["body"])


def test_a_generic_account_shows_its_secret_once_and_its_own_webhook_url(api, generic):
    assert generic["provider"] == "generic" and generic["webhook_secret"].startswith("whsec_")
    assert generic["webhook_url"].endswith(f"/dev/payments/events/{generic['id']}")
    shown = call(api, "GET", f"/automation/payment-accounts/{generic['id']}").body
    assert "webhook_secret" not in shown and shown["webhook_secret_last4"] == generic["webhook_secret"][-4:]
    refused = call(
        api,
        "POST",
        "/automation/payment-accounts",
        {"name": "X", "provider": "generic", "secret_key": "sk_test_123456789012"},
    )
    assert refused.status == 422 and "takes no secret_key" in refused.body["message"]


def test_a_payment_moves_the_deal_once_however_often_and_in_whatever_order_it_is_reported(api, generic):
    # Given a deal of 900.00 EUR
    deal = new_deal(api, amount=900, currency="EUR")["id"]
    # When the provider reports the payment five times, under two event ids, in any order
    reports = [report(deal)] * 3 + [report(deal, event_id="pay-1-retry")] * 2
    random.Random(3).shuffle(reports)
    answers = [deliver(generic["id"], r, generic["webhook_secret"]) for r in reports]
    # Then every delivery is answered alike (200, the first answer), the deal moved once, and the
    # payment is counted once
    assert {status for status, _ in answers} == {200}
    assert all(a["applied"] == answers[0][1]["applied"] for _, a in answers)
    assert answers[0][1]["applied"][0]["outcome"] == "moved"
    stage, payments, journal = state(api, deal)
    assert stage == "preparing_documents"
    (payment,) = payments
    assert (payment["data"]["provider"], payment["data"]["paid"], payment["data"]["document"]) == (
        "payments",
        "900.00",
        "INV-2026-118",
    )
    (moved,) = [e for e in journal if e["outcome"] == "moved"]
    assert (moved["event"]["type"], moved["event"]["source"]) == ("invoice_paid", "payments")


def test_an_order_part_paid_moves_the_deal_when_the_trigger_says(api, generic):
    deal = new_deal(api, amount=900, currency="EUR")["id"]
    down = report(deal, kind="order", payment_id="p-2", event_id="pay-2", amount=30000, total=90000)
    status, answer = deliver(generic["id"], down, generic["webhook_secret"])
    assert status == 200 and answer["applied"][0]["outcome"] == "moved", answer
    assert state(api, deal)[0] == "awaiting_payment"


def test_forged_expired_malformed_and_misaddressed_reports_change_nothing(api, generic, account):
    deal = new_deal(api, amount=900, currency="EUR")["id"]
    secret = generic["webhook_secret"]
    cases = [
        (deliver(generic["id"], report(deal), "whsec_" + "0" * 32), 401, "does not match"),
        (deliver(generic["id"], report(deal), None), 401, "no X-Crm-Signature"),
        (deliver(generic["id"], report(deal), secret, at=NOW - timedelta(seconds=301)), 401, "300 s"),
        (deliver(generic["id"], b"{not json", secret), 400, "JSON"),
        (deliver(generic["id"], report(deal, kind="refund"), secret), 400, "kind"),
        (deliver(generic["id"], report(deal, amount=-5), secret), 400, "amount"),
        (deliver(generic["id"], report(deal, currency="euro"), secret), 400, "currency"),
        (deliver(generic["id"], report(deal, item="nothing"), secret), 400, "item"),
        (deliver(generic["id"], report(deal, paid_at="yesterday"), secret), 400, "paid_at"),
        (deliver(generic["id"], report(deal, tip=1), secret), 400, "unknown fields"),
        (deliver(generic["id"], {"event_id": "x"}, secret), 400, "required"),
        # A Stripe account's id on the generic endpoint, and the generic account's on Stripe's.
        (deliver(account["id"], report(deal), secret), 404, "does not exist"),
        (deliver("pa_acme_ffffffffffff", report(deal), secret), 404, "does not exist"),
    ]
    for (status, body), expected, words in cases:
        assert status == expected and words in body["message"], (expected, body)
    assert state(api, deal) == ("new", [], [])
