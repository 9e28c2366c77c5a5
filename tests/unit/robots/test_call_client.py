"""*Call the client and speak a text*: the telephony provider calls one of the item's phones and
reads the rendered text in the voice chosen, once per run."""

from __future__ import annotations

import pytest

from crm.domain.robots import RobotFailed
from tests.fakes import FakePorts
from tests.unit.builders import deal
from tests.unit.robots.running import ran, refused

CLIENT = deal(phones=["+4930123456"])


def test_the_client_is_called_and_hears_the_rendered_text():
    fakes = FakePorts()
    params = {"text": "Your order {{ item.title }} ships today.", "voice": "Polly.Joanna"}

    outputs, _ = ran(CLIENT, "call_client", params, fakes=fakes)

    assert fakes.telephony.calls == [("+4930123456", "Your order Ten laptops ships today.", "Polly.Joanna")]
    assert set(outputs) == {"call_id"} and outputs["call_id"]


def test_the_same_run_twice_calls_once_and_a_failed_attempt_is_retried():
    fakes = FakePorts()
    fakes.telephony.fail_next(1)

    with pytest.raises(RobotFailed) as failed:
        ran(CLIENT, "call_client", {"text": "Hello"}, fakes=fakes)
    first, _ = ran(CLIENT, "call_client", {"text": "Hello"}, fakes=fakes)
    again, _ = ran(CLIENT, "call_client", {"text": "Hello"}, fakes=fakes)

    assert failed.value.retryable and first == again
    assert fakes.telephony.calls == [("+4930123456", "Hello", "alice")]


def test_without_a_telephony_provider_it_fails_for_good():
    fakes = FakePorts()
    fakes.telephony = None  # the tenant has no provider connected

    with pytest.raises(RobotFailed) as failed:
        ran(CLIENT, "call_client", {"text": "Hello"}, fakes=fakes)

    assert not failed.value.retryable and str(failed.value) == "no telephony provider configured"


@pytest.mark.parametrize(
    ("item", "text", "message"),
    [
        (deal(), "Hello", "deal/d-1 has no phone"),
        (CLIENT, "{{ 'ж' * 1501 }}", "text: 3002 bytes rendered, at most 3000"),  # 2 bytes each in UTF-8
    ],
)
def test_what_cannot_be_said_fails_for_good(item, text, message):
    fakes = FakePorts()

    with pytest.raises(RobotFailed) as failed:
        ran(item, "call_client", {"text": text}, fakes=fakes)

    assert not failed.value.retryable and message in str(failed.value)
    assert fakes.telephony.calls == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"voice": "alice"}, "text: Field required"),
        ({"text": "Hi", "voice": "Robotic.Bob"}, "voice: Input should be 'alice', 'man', 'woman'"),
        ({"text": "Hi", "to": "not a phone"}, "to: Value error, a phone number in E.164"),
    ],
)
def test_bad_params_are_refused_when_the_robot_is_saved(params, message):
    assert message in refused("call_client", params)
