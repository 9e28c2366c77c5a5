"""Stripe's events read into payments (``crm.domain.payments``): which event is which trigger, the
item its metadata names, the one fact that invoice.paid and invoice.payment_succeeded share, and
the ledger that counts one payment once whichever of its events arrive."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm.domain.errors import Invalid
from crm.domain.payments import Ledger, PaymentKind, StripeEvent, Unacted, payment_of
from crm.domain.trigger_events import ItemRef

CREATED = int(datetime(2026, 11, 23, 9, tzinfo=UTC).timestamp())


def event(event_type: str, obj: dict, event_id: str = "evt_1") -> StripeEvent:
    return StripeEvent.of(
        {"id": event_id, "object": "event", "type": event_type, "created": CREATED, "data": {"object": obj}}
    )


def invoice(paid: int = 5000, due: int = 5000, ref: str = "deal/25", **more) -> dict:
    return {
        "id": "in_1",
        "object": "invoice",
        "amount_paid": paid,
        "amount_due": due,
        "currency": "eur",
        "metadata": {"crm_ref": ref},
        **more,
    }


def session(**more) -> dict:
    values = {
        "id": "cs_1",
        "object": "checkout.session",
        "amount_total": 5000,
        "currency": "eur",
        "payment_intent": "pi_1",
        "invoice": "in_1",
        "payment_status": "paid",
        "metadata": {"crm_ref": "DEAL_25", "tenant_id": "acme"},
    }
    return values | more


def test_invoice_paid_and_payment_succeeded_are_one_invoice_paid_fact():
    paid = payment_of(event("invoice.paid", invoice(), "evt_a"))
    succeeded = payment_of(event("invoice.payment_succeeded", invoice(), "evt_b"))
    assert paid == succeeded
    assert (paid.kind, paid.item, paid.key, paid.currency, paid.settled) == (
        PaymentKind.INVOICE,
        ItemRef("deal", "25"),
        "invoice:in_1:5000",
        "EUR",
        True,
    )
    # A later part of the same invoice is another fact.
    assert payment_of(event("invoice.paid", invoice(paid=2000))).key == "invoice:in_1:2000"


def test_a_paid_session_and_its_payment_intent_are_one_order_paid_fact():
    completed = payment_of(event("checkout.session.completed", session()))
    intent = payment_of(
        event(
            "payment_intent.succeeded",
            {
                "id": "pi_1",
                "amount": 5000,
                "amount_received": 5000,
                "currency": "eur",
                "metadata": {"crm_ref": "deal/25"},
            },
        )
    )
    assert completed.kind is intent.kind is PaymentKind.ORDER
    assert completed.key == intent.key == "order:pi_1"
    assert completed.ids == {"cs_1", "pi_1", "in_1"} and completed.tenant_id == "acme"


def test_what_the_crm_does_not_act_on_is_said_why():
    unpaid = payment_of(event("checkout.session.completed", session(payment_status="unpaid")))
    assert isinstance(unpaid, Unacted) and unpaid.item == ItemRef("deal", "25") and "unpaid" in unpaid.why
    other = payment_of(event("customer.created", {"id": "cus_1", "email": "a@b.test"}))
    assert isinstance(other, Unacted) and "customer.created" in other.why and other.email == "a@b.test"
    unnamed = payment_of(event("invoice.paid", invoice() | {"metadata": {}, "customer_email": "a@b.test"}))
    assert isinstance(unnamed, Unacted) and "crm_ref" in unnamed.why and unnamed.item is None
    bad_ref = payment_of(event("invoice.paid", invoice(ref="deal")))
    assert isinstance(bad_ref, Unacted) and "not an item" in bad_ref.why


@pytest.mark.parametrize(
    "document",
    [
        None,
        [],
        {"object": "event"},
        {
            "object": "event",
            "id": "evt 1",
            "type": "invoice.paid",
            "created": CREATED,
            "data": {"object": {}},
        },
        {"object": "event", "id": "evt_1", "type": "invoice.paid", "created": "soon", "data": {"object": {}}},
        {"object": "event", "id": "evt_1", "type": "invoice.paid", "created": CREATED, "data": {}},
        {"object": "invoice", "id": "in_1"},
    ],
)
def test_a_document_that_is_not_a_stripe_event_is_invalid(document):
    with pytest.raises(Invalid):
        StripeEvent.of(document)


@pytest.mark.parametrize(
    "broken", [{"amount_paid": "5000"}, {"amount_paid": -1}, {"currency": "euro"}, {"id": 7}]
)
def test_a_payment_without_its_amounts_currency_or_id_is_invalid(broken):
    with pytest.raises(Invalid):
        payment_of(event("invoice.paid", invoice() | broken))


def test_the_ledger_counts_each_payment_once_and_parts_of_an_invoice_as_paid_so_far():
    ledger = Ledger()
    by_session = payment_of(event("checkout.session.completed", session()))
    ledger = ledger.with_payment(by_session)
    assert ledger.paid("EUR") == 5000
    # Its invoice and its intent, in any order, add nothing; a new id alone is remembered.
    by_invoice = payment_of(event("invoice.paid", invoice(payment_intent="pi_1")))
    assert ledger.with_payment(by_invoice) is None
    # Another invoice paid in two parts counts what it has been paid so far.
    first = payment_of(event("invoice.paid", invoice(2000, 6000) | {"id": "in_2"}))
    second = payment_of(event("invoice.paid", invoice(6000, 6000) | {"id": "in_2"}))
    ledger = ledger.with_payment(first)
    assert ledger.paid("EUR") == 7000
    ledger = ledger.with_payment(second)
    assert ledger.paid("EUR") == 11000 and ledger.with_payment(first) is None
    assert ledger.paid("USD") == 0
