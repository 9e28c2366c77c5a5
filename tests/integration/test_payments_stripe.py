"""The Stripe source through API Gateway's shapes: payment accounts made through the management API,
Stripe's events (shaped as its documentation shows them) signed with the ``stripe`` package's own
helper and posted as REST proxy events to IngestPaymentsFunction. Each payment moves the deal once
and is counted once on its timeline; forged, expired, malformed and unknown-account deliveries get
the status Stripe expects and change nothing."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest
import stripe

from tests.conftest import lambda_context, load_event, load_handler
from tests.integration.test_management_api import api as api
from tests.integration.test_management_api import call, new_deal
from tests.integration.test_management_api import sales as sales

SAMPLE = load_event("ingest_payments/invoice_paid.json")
WHSEC = "whsec_" + "A1b2C3d4" * 4
NEW_WHSEC = "whsec_" + "Z9y8X7w6" * 4
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    from crm.domain import clock as app_clock

    fixed = app_clock.FixedClock(NOW)
    app_clock.use_clock(fixed)
    yield fixed
    app_clock.use_clock(app_clock.SystemClock())


@pytest.fixture
def account(api, sales, clock):
    """A Stripe account of tenant acme, and triggers: invoice paid (in full) -> "Preparing
    documents"; order paid, 30 % enough -> "Awaiting payment"."""
    rules = [
        {"type_code": "invoice_paid", "stage_id": "preparing_documents", "name": "Invoice paid"},
        {
            "type_code": "order_paid",
            "stage_id": "awaiting_payment",
            "name": "Down payment",
            "params": {"fully_paid": False, "min_paid_share": 0.3},
        },
    ]
    for rule in rules:
        answer = call(api, "POST", "/automation/deal/sales/triggers", rule)
        assert answer.status == 201, answer.body
    created = call(
        api,
        "POST",
        "/automation/payment-accounts",
        {
            "name": "Stripe",
            "provider": "stripe",
            "secret_key": "sk_test_51Qacme0123456789",
            "webhook_secret": WHSEC,
            "return_url": "https://shop.acme.test/paid",
        },
    )
    assert created.status == 201, created.body
    return created.body


def stripe_event(event_type: str, obj: dict, event_id: str = "evt_1", created: datetime = NOW) -> bytes:
    document = {
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(created.timestamp()),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
    return json.dumps(document, indent=2).encode()


def invoice(deal_id: str, paid: int, due: int = 90000, invoice_id: str = "in_1", **more) -> dict:
    return {
        "id": invoice_id,
        "object": "invoice",
        "amount_due": due,
        "amount_paid": paid,
        "amount_remaining": due - paid,
        "currency": "eur",
        "customer_email": "buyer@acme-client.test",
        "metadata": {"crm_ref": f"deal/{deal_id}"},
        "status": "paid" if paid >= due else "open",
        **more,
    }


def session(deal_id: str, total: int = 90000, **more) -> dict:
    return {
        "id": "cs_test_1",
        "object": "checkout.session",
        "amount_total": total,
        "currency": "eur",
        "customer_details": {"email": "buyer@acme-client.test"},
        "invoice": "in_1",
        "metadata": {"crm_ref": f"DEAL_{deal_id}", "tenant_id": "acme"},
        "mode": "payment",
        "payment_intent": "pi_1",
        "payment_status": "paid",
        "status": "complete",
        **more,
    }


def signed(body: bytes, *secrets: str, at: datetime = NOW) -> str:
    """Stripe-Signature as Stripe makes it (its own library), one v1 per secret."""
    headers = [
        stripe.WebhookSignature.generate_signature_header(body.decode(), s, int(at.timestamp()))
        for s in secrets
    ]
    return ",".join([headers[0]] + [h.split(",", 1)[1] for h in headers[1:]])


def deliver(account_id: str, body: bytes, signature: str | None) -> tuple[int, dict]:
    event = copy.deepcopy(SAMPLE)
    path = f"/payments/stripe/{account_id}"
    headers = {k: v for k, v in event["headers"].items() if k != "Stripe-Signature"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    event.update(
        path=path,
        pathParameters={"account_id": account_id},
        headers=headers,
        multiValueHeaders={k: [v] for k, v in headers.items()},
        body=body.decode(),
    )
    event["requestContext"]["path"] = f"/dev{path}"
    answer = load_handler("ingest_payments").lambda_handler(event, lambda_context())
    return answer["statusCode"], json.loads(answer["body"])


def state(api, deal_id: str) -> tuple[str, list[dict], list[dict]]:
    """The deal's stage, its payment entries and its journal."""
    deal = call(api, "GET", f"/items/deal/{deal_id}").body
    timeline = call(api, "GET", f"/items/deal/{deal_id}/timeline").body["entries"]
    journal = call(api, "GET", f"/items/deal/{deal_id}/journal").body["entries"]
    return deal["stage_id"], [e for e in timeline if e["kind"] == "payment_received"], journal


# ---------------------------------------------------------------- accounts


def test_an_account_is_shown_without_its_secrets_and_names_its_webhook_url(api, account):
    assert account["id"].startswith("pa_acme_")
    assert account["webhook_url"] == (
        f"https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/dev/payments/stripe/{account['id']}"
    )
    assert account["webhook_secret"] is None  # Stripe's secret is Stripe's: never shown back
    assert (account["secret_key_last4"], account["webhook_secret_last4"]) == ("6789", WHSEC[-4:])
    listed = call(api, "GET", "/automation/payment-accounts").body
    assert json.dumps(listed).count("sk_test_") == 0 and WHSEC not in json.dumps(listed)
    assert [a["id"] for a in listed] == [account["id"]]
    assert api.call("GET", "/automation/payment-accounts", key=api.other_key).body == []
    other = api.call("GET", f"/automation/payment-accounts/{account['id']}", key=api.other_key)
    assert other.status == 404


def test_bad_accounts_are_refused_with_the_reason(api, sales):
    base = {"name": "Stripe", "provider": "stripe", "webhook_secret": WHSEC, "return_url": "https://a.test/"}
    for body, words in [
        (base, "secret_key"),
        (base | {"secret_key": "pk_test_123456789012"}, "secret_key"),
        (base | {"secret_key": "sk_test_123456789012", "webhook_secret": "nope"}, "webhook_secret"),
        (base | {"secret_key": "sk_test_123456789012", "return_url": "javascript:alert(1)"}, "return_url"),
        ({"name": "Local", "provider": "local"}, "local runtime"),
    ]:
        refused = call(api, "POST", "/automation/payment-accounts", body)
        assert refused.status == 422 and words in refused.body["message"], (body, refused.body)
    assert call(api, "GET", "/automation/payment-accounts").body == []


# ---------------------------------------------------------------- payments


def test_an_invoice_paid_moves_the_deal_once_whatever_its_events_and_deliveries(api, account):
    # Given a deal of 900.00 EUR
    deal = new_deal(api, amount=900, currency="EUR")["id"]
    paid = stripe_event("invoice.paid", invoice(deal, 90000), "evt_paid")
    succeeded = stripe_event("invoice.payment_succeeded", invoice(deal, 90000), "evt_succeeded")

    # When Stripe sends invoice.paid, redelivers it, and sends invoice.payment_succeeded
    first = deliver(account["id"], paid, signed(paid, WHSEC))
    again = deliver(account["id"], paid, signed(paid, WHSEC))
    other = deliver(account["id"], succeeded, signed(succeeded, WHSEC))

    # Then the deal moved once, with one payment on its timeline
    assert first[0] == 200 and first[1]["applied"][0]["outcome"] == "moved", first
    assert again == (200, first[1]) and other[0] == 200
    assert other[1]["applied"][0]["journal_id"] == first[1]["applied"][0]["journal_id"]
    stage, payments, journal = state(api, deal)
    assert stage == "preparing_documents"
    (payment,) = payments
    assert payment["data"] | {"stripe_event": None} == payment["data"] | {
        "stripe_event": None,
        "amount": "900.00",
        "currency": "EUR",
        "paid": "900.00",
        "due": "900.00",
        "due_of": "item",
        "document": "in_1",
    }
    (entry,) = [e for e in journal if e["event"]["type"] == "invoice_paid"]
    assert entry["outcome"] == "moved" and entry["event"]["data"]["share"] == 1.0


def test_partial_payments_are_recorded_and_move_the_deal_when_the_trigger_says(api, account):
    # Given a deal of 900.00 EUR and a trigger that moves it once 30 % is paid
    deal = new_deal(api, amount=900, currency="EUR")["id"]
    first_part = stripe_event("invoice.paid", invoice(deal, 20000, 20000, "in_a"), "evt_a")
    second_part = stripe_event("invoice.paid", invoice(deal, 10000, 10000, "in_b"), "evt_b")
    order = stripe_event("payment_intent.succeeded", _intent(deal, 10000, "pi_c"), "evt_c")

    # When 200.00 is paid by an invoice: no invoice-paid move (not all of it), no order yet
    assert (
        deliver(account["id"], first_part, signed(first_part, WHSEC))[1]["applied"][0]["outcome"] != "moved"
    )
    stage, payments, _ = state(api, deal)
    assert stage == "new" and [p["data"]["paid"] for p in payments] == ["200.00"]

    # ... 100.00 more by another invoice, then 100.00 at a terminal (order paid: 400 of 900 >= 30 %)
    deliver(account["id"], second_part, signed(second_part, WHSEC))
    status, answer = deliver(account["id"], order, signed(order, WHSEC))

    # Then each payment is on the timeline with the total paid, and the order moved the deal
    assert status == 200 and answer["applied"][0]["outcome"] == "moved", answer
    stage, payments, _ = state(api, deal)
    assert stage == "awaiting_payment"
    assert sorted(p["data"]["paid"] for p in payments) == ["200.00", "300.00", "400.00"]


def _intent(deal_id: str, amount: int, intent_id: str) -> dict:
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount,
        "currency": "eur",
        "metadata": {"crm_ref": f"deal/{deal_id}"},
        "payment_method_types": ["card_present"],
        "status": "succeeded",
    }


def test_a_checkout_and_its_invoice_count_the_payment_once(api, account):
    deal = new_deal(api, amount=900, currency="EUR")["id"]
    completed = stripe_event("checkout.session.completed", session(deal), "evt_session")
    paid = stripe_event("invoice.paid", invoice(deal, 90000, payment_intent="pi_1"), "evt_invoice")
    intent = stripe_event("payment_intent.succeeded", _intent(deal, 90000, "pi_1"), "evt_intent")
    for body in (paid, completed, intent, completed):
        assert deliver(account["id"], body, signed(body, WHSEC))[0] == 200
    stage, payments, journal = state(api, deal)
    # The invoice moved it to "Preparing documents", then the order on to "Awaiting payment".
    assert stage == "awaiting_payment"
    assert [p["data"]["paid"] for p in payments] == ["900.00"]
    kinds = sorted(e["event"]["type"] for e in journal)
    assert kinds == ["invoice_paid", "order_paid"]  # the intent is the session's order: deduplicated


def test_an_unpaid_session_and_unknown_event_types_are_answered_200_and_journaled(api, account):
    deal = new_deal(api, amount=900, currency="EUR")["id"]
    unpaid = stripe_event("checkout.session.completed", session(deal, payment_status="unpaid"), "evt_u")
    customer = stripe_event(
        "customer.created", {"id": "cus_1", "object": "customer", "email": "x@acme-client.test"}, "evt_k"
    )
    for body in (unpaid, customer, customer):
        status, answer = deliver(account["id"], body, signed(body, WHSEC))
        assert status == 200 and answer["applied"][0]["outcome"] == "no_item", answer
    assert state(api, deal)[:2] == ("new", [])
    journal = call(api, "GET", "/journal?source=stripe").body["entries"]
    assert sorted(e["event"]["type"] for e in journal) == [
        "stripe_checkout_session_completed",
        "stripe_customer_created",
    ]


# ---------------------------------------------------------------- refusals: nothing changes


def test_forged_expired_malformed_and_unknown_account_deliveries_change_nothing(api, account, clock):
    deal = new_deal(api, amount=900, currency="EUR")["id"]
    body = stripe_event("invoice.paid", invoice(deal, 90000))
    wrong = "whsec_" + "0" * 32
    cases = [
        (account["id"], body, signed(body, wrong), 400, "does not match"),
        (account["id"], body.replace(b"90000", b"90001"), signed(body, WHSEC), 400, "does not match"),
        (account["id"], body, None, 400, "no Stripe-Signature"),
        (account["id"], body, "v1=abc", 400, "no timestamp"),
        (account["id"], body, signed(body, WHSEC, at=NOW - timedelta(seconds=301)), 400, "300 s"),
        (account["id"], b"{not json", signed(b"{not json", WHSEC), 400, "JSON"),
        (account["id"], b'{"object": "event"}', signed(b'{"object": "event"}', WHSEC), 400, "id"),
        ("pa_acme_ffffffffffff", body, signed(body, WHSEC), 404, "does not exist"),
        ("pa_globex_" + account["id"][-12:], body, signed(body, WHSEC), 404, "does not exist"),
        ("not-an-account", body, signed(body, WHSEC), 404, "does not exist"),
    ]
    for account_id, sent, signature, status, words in cases:
        answer = deliver(account_id, sent, signature)
        assert answer[0] == status and words in answer[1]["message"], (signature, answer)
    assert state(api, deal) == ("new", [], [])
    # A signature within the tolerance is taken.
    late = deliver(account["id"], body, signed(body, WHSEC, at=NOW - timedelta(seconds=299)))
    assert late[0] == 200 and state(api, deal)[0] == "preparing_documents"


def test_a_rolled_secret_verifies_beside_the_new_one_until_its_grace_ends(api, account, clock):
    deal = new_deal(api, amount=900, currency="EUR")["id"]
    rolled = call(
        api,
        "POST",
        f"/automation/payment-accounts/{account['id']}/roll-secret",
        {"webhook_secret": NEW_WHSEC, "grace_hours": 1},
    )
    assert rolled.status == 200 and rolled.body["webhook_secret_last4"] == NEW_WHSEC[-4:]
    from crm.adapters import warm

    warm.clear()  # another container, that never saw the account before the roll
    # During the roll Stripe signs with both secrets; each alone verifies too.
    both = stripe_event("invoice.paid", invoice(deal, 10000, 10000, "in_x"), "evt_x")
    assert deliver(account["id"], both, signed(both, NEW_WHSEC, WHSEC))[0] == 200
    old_only = stripe_event("invoice.paid", invoice(deal, 10000, 10000, "in_y"), "evt_y")
    assert deliver(account["id"], old_only, signed(old_only, WHSEC))[0] == 200
    # After the grace period, only the new one.
    clock.advance(timedelta(hours=1, seconds=1))
    warm.clear()
    late = stripe_event("invoice.paid", invoice(deal, 10000, 10000, "in_z"), "evt_z", created=clock.now())
    assert deliver(account["id"], late, signed(late, WHSEC, at=clock.now()))[0] == 400
    assert deliver(account["id"], late, signed(late, NEW_WHSEC, at=clock.now()))[0] == 200
    assert sorted(p["data"]["document"] for p in state(api, deal)[1]) == ["in_x", "in_y", "in_z"]


def test_a_payment_event_costs_two_dynamodb_calls_on_a_warm_container(api, account, monkeypatch):
    from crm.adapters.tables import StoreConnection

    deal = new_deal(api, amount=900, currency="EUR")["id"]
    warm_up = stripe_event("invoice.paid", invoice(deal, 10000, 10000, "in_w"), "evt_w")
    assert deliver(account["id"], warm_up, signed(warm_up, WHSEC))[0] == 200  # account and pipeline kept
    calls: list[str] = []
    made = StoreConnection._make_api_call

    def counted(self, operation_name, operation_kwargs):
        calls.append(operation_name)
        return made(self, operation_name, operation_kwargs)

    monkeypatch.setattr(StoreConnection, "_make_api_call", counted)
    body = stripe_event("invoice.paid", invoice(deal, 90000), "evt_full")
    assert deliver(account["id"], body, signed(body, WHSEC))[1]["applied"][0]["outcome"] == "moved"
    assert calls == ["BatchGetItem", "TransactWriteItems"]
