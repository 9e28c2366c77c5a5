"""*Send SMS*: a rendered text to one of the item's phones in E.164, once per run, within the
1,600 characters carriers deliver."""

from __future__ import annotations

import pytest

from crm.domain.robots import RobotFailed
from tests.fakes import FakePorts
from tests.unit.builders import deal
from tests.unit.robots.running import ran, refused

CLIENT = deal(phones=["+4930123456", "+491701234567"])


def test_the_client_gets_the_text_with_an_earlier_robots_output():
    fakes = FakePorts()
    params = {"text": "{{ item.title }}: pay at {{ robots.r0.payment_url }}"}

    outputs, _ = ran(
        CLIENT,
        "send_sms",
        params,
        fakes=fakes,
        earlier_outputs={"r0": {"payment_url": "https://p.example/1"}},
    )

    assert fakes.sms.sent == [("+4930123456", "Ten laptops: pay at https://p.example/1")]
    # The provider's id for the text sent under the run's key (asking again sends nothing).
    kept = fakes.sms.send("acme", "+4930123456", "Hi", idempotency_key="robot-run:acme:run-r1")
    assert outputs == {"message_id": kept.id} and len(fakes.sms.sent) == 1


def test_to_picks_another_of_the_items_phones_however_it_is_spaced():
    fakes = FakePorts()

    ran(CLIENT, "send_sms", {"text": "Hi", "to": "+49 170 1234-567"}, fakes=fakes)
    ran(CLIENT, "send_sms", {"text": "Hi", "to": "{{ contact.phones[1] }}"}, fakes=fakes, rule_id="r2")

    assert [to for to, _ in fakes.sms.sent] == ["+491701234567", "+491701234567"]


@pytest.mark.parametrize(
    ("item", "params", "message"),
    [
        (deal(), {"text": "Hi"}, "deal/d-1 has no phone"),
        (CLIENT, {"text": "Hi", "to": "+4989000000"}, "'+4989000000' is not one of the item's phones"),
        (deal(phones=["030 123456"]), {"text": "Hi"}, "'030 123456' is not a phone number in E.164"),
        (CLIENT, {"text": "{{ 'x' * 1601 }}"}, "text: 1601 characters rendered, at most 1600"),
        (CLIENT, {"text": "{{ item.fields.none }}"}, "text: rendered empty"),
    ],
)
def test_what_cannot_be_sent_fails_for_good_and_sends_nothing(item, params, message):
    fakes = FakePorts()

    with pytest.raises(RobotFailed) as failed:
        ran(item, "send_sms", params, fakes=fakes)

    assert not failed.value.retryable and message in str(failed.value)
    assert fakes.sms.sent == []


def test_the_same_run_twice_sends_one_text_and_a_failed_attempt_is_retried():
    fakes = FakePorts()
    fakes.sms.fail_next(1)

    with pytest.raises(RobotFailed) as failed:
        ran(CLIENT, "send_sms", {"text": "Hi"}, fakes=fakes)
    first, _ = ran(CLIENT, "send_sms", {"text": "Hi"}, fakes=fakes)
    again, _ = ran(CLIENT, "send_sms", {"text": "Hi"}, fakes=fakes)

    assert failed.value.retryable and first == again
    assert fakes.sms.sent == [("+4930123456", "Hi")]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "text: Field required"),
        ({"text": "{{ oops"}, "text: Value error, template: not a valid template"),
        ({"text": "Hi", "to": "030 123456"}, "to: Value error, a phone number in E.164"),
        ({"text": "Hi", "sender": "ACME"}, "sender: Extra inputs are not permitted"),
    ],
)
def test_bad_params_are_refused_when_the_robot_is_saved(params, message):
    assert message in refused("send_sms", params)
