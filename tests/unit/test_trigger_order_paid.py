"""*Order paid*: the same params and data as *invoice paid*, fired by order events only."""

from __future__ import annotations

from crm.domain.rules import CATALOGUE, RuleKind
from tests.unit.test_trigger_invoice_paid import paid

ORDER_PAID = CATALOGUE.get(RuleKind.TRIGGER, "order_paid")


def test_a_paid_order_fires_it_by_the_share_paid():
    assert ORDER_PAID.matches(paid(1.0, "order_paid"), {})
    assert not ORDER_PAID.matches(paid(0.5, "order_paid"), {})
    assert ORDER_PAID.matches(paid(0.5, "order_paid"), {"fully_paid": False, "min_paid_share": 0.5})


def test_an_invoice_paid_event_does_not_fire_it():
    assert not ORDER_PAID.matches(paid(1.0, "invoice_paid"), {})


def test_it_is_in_the_catalogue_with_its_params_schema():
    described = ORDER_PAID.describe()
    assert described["kind"] == "trigger" and set(described["params_schema"]["properties"]) == {
        "fully_paid",
        "min_paid_share",
    }
