"""*Create payment link*: the provider makes a link for the item's amount (or the one given) in the
currency's minor units, once per run; an amount that cannot be asked exactly is refused."""

from __future__ import annotations

import pytest

from crm.domain.robots import RobotFailed
from tests.fakes import FakePorts
from tests.unit.builders import deal
from tests.unit.robots.running import ran, refused


def test_a_link_for_the_items_amount_in_cents_feeds_the_mail_after_it():
    fakes = FakePorts()

    outputs, _ = ran(deal(amount=19.99, currency="eur"), "create_payment_link", {}, fakes=fakes)
    ran(
        deal(emails=["buyer@client.test"]),
        "send_email",
        {
            "subject": "Your invoice",
            "body_text": "Pay {{ robots.r0.amount }} {{ robots.r0.currency }}: {{ robots.r0.payment_url }}",
        },
        fakes=fakes,
        rule_id="r2",
        earlier_outputs={"r0": outputs},
    )

    ((link, minor, currency, description),) = fakes.payments.links.values()
    assert (minor, currency, description) == (1999, "EUR", "Ten laptops")
    assert outputs == {"payment_url": link.url, "payment_id": link.id, "amount": "19.99", "currency": "EUR"}
    (mail,) = fakes.mailer.sent
    assert mail.draft.text == f"Pay 19.99 EUR: {link.url}"


@pytest.mark.parametrize(
    ("amount", "currency", "minor", "shown"),
    [
        ("1500", "JPY", 1500, "1500"),
        ("12.345", "KWD", 12345, "12.345"),
        ("12.5", "USD", 1250, "12.50"),
        (0.1, "BHD", 100, "0.100"),
    ],
)
def test_the_amount_given_goes_in_the_currencys_minor_units(amount, currency, minor, shown):
    fakes = FakePorts()
    params = {"amount": amount, "currency": currency, "description": "Order {{ item.id }}\r\nextra"}

    outputs, _ = ran(deal(), "create_payment_link", params, fakes=fakes)

    ((_, asked, asked_currency, description),) = fakes.payments.links.values()
    assert (asked, asked_currency, outputs["amount"]) == (minor, currency, shown)
    assert description == "Order d-1 extra"  # one line


def test_the_same_run_twice_makes_one_link_and_a_failed_attempt_is_retried():
    fakes = FakePorts()
    fakes.payments.fail_next(1)

    with pytest.raises(RobotFailed) as failed:
        ran(deal(), "create_payment_link", {}, fakes=fakes)
    first, _ = ran(deal(), "create_payment_link", {}, fakes=fakes)
    again, _ = ran(deal(), "create_payment_link", {}, fakes=fakes)

    assert failed.value.retryable and first == again
    assert len(fakes.payments.links) == 1


@pytest.mark.parametrize(
    ("item", "params", "message"),
    [
        (deal(amount=None), {}, "deal/d-1 has no amount: set one on it or in the robot"),
        (deal(currency=None), {}, "deal/d-1 has no currency"),
        (deal(amount=10.005), {}, "10.005 EUR has more than 2 decimals"),
        (deal(amount=1500.5, currency="JPY"), {}, "1500.5 JPY has more than 0 decimals"),
        (deal(amount=0.0), {}, "deal/d-1's amount 0.0 is not a sum to pay"),
        (deal(amount=-5.0), {}, "deal/d-1's amount -5.0 is not a sum to pay"),
        (deal(), {"description": "{{ item.fields.none }}"}, "description: rendered empty"),
    ],
)
def test_what_cannot_be_asked_exactly_fails_for_good_and_makes_no_link(item, params, message):
    fakes = FakePorts()

    with pytest.raises(RobotFailed) as failed:
        ran(item, "create_payment_link", params, fakes=fakes)

    assert not failed.value.retryable and message in str(failed.value)
    assert fakes.payments.links == {}


def test_without_a_payment_provider_it_fails_for_good():
    fakes = FakePorts()
    fakes.payments = None

    with pytest.raises(RobotFailed) as failed:
        ran(deal(), "create_payment_link", {}, fakes=fakes)

    assert not failed.value.retryable and str(failed.value) == "no payment provider configured"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"amount": 0}, "amount: Input should be greater than 0"),
        ({"amount": "ten"}, "amount: Input should be a valid decimal"),
        ({"currency": "eur"}, "currency: String should match pattern"),
        ({"amount": "9.999", "currency": "EUR"}, "9.999 EUR has more than 2 decimals"),
        ({"description": "{{"}, "description: Value error, template: not a valid template"),
        ({"amount_minor": 100}, "amount_minor: Extra inputs are not permitted"),
    ],
)
def test_bad_params_are_refused_when_the_robot_is_saved(params, message):
    assert message in refused("create_payment_link", params)
