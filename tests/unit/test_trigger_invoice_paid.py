"""*Invoice paid*: fires when the share paid reaches what the trigger asks (all by default)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm.domain.errors import Invalid
from crm.domain.rules import CATALOGUE, RuleKind
from crm.domain.trigger_events import ItemRef, TriggerEvent

INVOICE_PAID = CATALOGUE.get(RuleKind.TRIGGER, "invoice_paid")


def paid(share: float, kind: str = "invoice_paid") -> TriggerEvent:
    data = {
        "provider": "stripe",
        "document": "in_1",
        "amount": "300.00",
        "currency": "EUR",
        "paid": f"{900 * share:.2f}",
        "due": "900.00",
        "due_of": "item",
        "share": share,
    }
    at = datetime(2026, 11, 23, tzinfo=UTC)
    return TriggerEvent(kind, "stripe", "invoice:in_1:1", "acme", at, item=ItemRef("deal", "1"), data=data)


def test_by_default_only_a_full_payment_fires_it():
    assert INVOICE_PAID.matches(paid(1.0), {})
    assert INVOICE_PAID.matches(paid(1.2), {"fully_paid": True})
    assert not INVOICE_PAID.matches(paid(0.999), {})


def test_a_share_is_enough_when_the_trigger_says_so():
    params = {"fully_paid": False, "min_paid_share": 0.3}
    assert INVOICE_PAID.matches(paid(0.3), params)
    assert not INVOICE_PAID.matches(paid(0.29), params)
    assert INVOICE_PAID.matches(paid(0.01), {"fully_paid": False})  # any payment


def test_an_order_paid_event_does_not_fire_it():
    assert not INVOICE_PAID.matches(paid(1.0, "order_paid"), {})


@pytest.mark.parametrize(
    "params",
    [
        {"min_paid_share": 0.5},  # with fully_paid (the default): two thresholds
        {"fully_paid": False, "min_paid_share": 0},
        {"fully_paid": False, "min_paid_share": 1.5},
        {"fully_paid": "yes please"},
        {"share": 1},
    ],
)
def test_params_that_say_nothing_clear_are_refused(params):
    with pytest.raises(Invalid):
        CATALOGUE.validated_params(RuleKind.TRIGGER, "invoice_paid", params)


def test_an_event_without_the_paid_share_is_not_an_invoice_paid_event():
    event = paid(1.0)
    broken = TriggerEvent(
        event.type, event.source, event.event_id, event.tenant_id, event.occurred_at, item=event.item, data={}
    )
    with pytest.raises(Invalid, match="share"):
        INVOICE_PAID.matches(broken, {})
