"""SMS from robots through SNS (``crm.adapters.sms.SnsSms``) against moto: what goes out, and the
once-record that stands in for the idempotency key SNS does not take (sent once per key; a refusal
frees the key; an attempt cut off after publishing is repeated only after ``resend_after``)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from crm.adapters.clients import client
from crm.adapters.once_effects import EffectRecord
from crm.adapters.sms import SnsSms
from crm.domain import clock
from crm.domain.robots import RobotFailed
from tests.conftest import REGION

NUMBER = "+4915123456789"


@pytest.fixture
def now(aws):
    stopped = clock.FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    clock.use_clock(stopped)
    yield stopped
    clock.use_clock(clock.SystemClock())


def sent() -> list[tuple[str, str]]:
    return list(sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values())


def published_attributes(monkeypatch) -> list[dict]:
    """The MessageAttributes of each Publish (moto keeps none for SMS)."""
    sns, seen = client("sns"), []
    publish = sns.publish

    def recording(**kwargs):
        seen.append(kwargs["MessageAttributes"])
        return publish(**kwargs)

    monkeypatch.setattr(sns, "publish", recording)
    return seen


def failing_with(monkeypatch, code: str, status: int, times: int = 1) -> None:
    sns, publish, left = client("sns"), client("sns").publish, [times]

    def failing(**kwargs):
        if left[0]:
            left[0] -= 1
            raise ClientError(
                {
                    "Error": {"Code": code, "Message": f"{code} says no"},
                    "ResponseMetadata": {"HTTPStatusCode": status},
                },
                "Publish",
            )
        return publish(**kwargs)

    monkeypatch.setattr(sns, "publish", failing)


def test_an_sms_is_published_to_the_number_as_transactional_with_the_sender_id(now, monkeypatch):
    attributes = published_attributes(monkeypatch)
    answer = SnsSms("AcmeShop").send("acme", NUMBER, "Your order 25 is ready", idempotency_key="k1")
    assert sent() == [(NUMBER, "Your order 25 is ready")]
    assert answer.id in sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages
    assert answer.details == {"to": NUMBER}
    assert attributes == [
        {
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
            "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": "AcmeShop"},
        }
    ]


def test_the_same_key_sends_nothing_again_and_answers_the_first_message(now):
    sms = SnsSms()
    first = sms.send("acme", NUMBER, "Your order is ready", idempotency_key="k1")
    again = sms.send("acme", NUMBER, "Your order is ready", idempotency_key="k1")
    other = sms.send("acme", NUMBER, "Your order is ready", idempotency_key="k2")
    assert again == first
    assert other.id != first.id
    assert len(sent()) == 2
    record = EffectRecord.get(f"acme#EFFECT#{hashlib.sha256(b'k1').hexdigest()[:32]}", "SMS")
    assert (record.state, record.service_id, record.tenant_id) == ("sent", first.id, "acme")
    assert record.expires_at == int((now.now() + timedelta(days=30)).timestamp())


def test_keys_are_the_tenants_own(now):
    SnsSms().send("acme", NUMBER, "Hello from Acme", idempotency_key="k1")
    SnsSms().send("globex", NUMBER, "Hello from Globex", idempotency_key="k1")
    assert [text for _, text in sent()] == ["Hello from Acme", "Hello from Globex"]


@pytest.mark.parametrize(
    ("to", "text", "message"),
    [
        ("015123456789", "Hi", "country code"),
        ("+49 151 2345 6789", "Hi", "not in E.164 form"),
        ("+1202", "Hi", "not a possible phone number"),
        (NUMBER, " ", "text is empty"),
        (NUMBER, "x" * 1601, "over 1600 characters"),
    ],
)
def test_what_sns_cannot_send_is_refused_for_good_and_nothing_is_recorded(now, to, text, message):
    with pytest.raises(RobotFailed, match=message) as failed:
        SnsSms().send("acme", to, text, idempotency_key="k1")
    assert not failed.value.retryable
    assert sent() == []
    assert list(EffectRecord.scan()) == []


def test_a_refusal_by_sns_is_not_retried_and_frees_the_key(now, monkeypatch):
    failing_with(monkeypatch, "InvalidParameter", 400)
    with pytest.raises(RobotFailed, match="the SMS service refused it: InvalidParameter says no") as failed:
        SnsSms().send("acme", NUMBER, "Hi", idempotency_key="k1")
    assert not failed.value.retryable
    assert list(EffectRecord.scan()) == []
    SnsSms().send("acme", NUMBER, "Hi", idempotency_key="k1")  # the number was fixed, say
    assert len(sent()) == 1


def test_a_throttle_is_retried_and_the_retry_sends(now, monkeypatch):
    failing_with(monkeypatch, "Throttled", 429)
    with pytest.raises(RobotFailed, match="busy") as failed:
        SnsSms().send("acme", NUMBER, "Hi", idempotency_key="k1")
    assert failed.value.retryable
    assert sent() == []
    SnsSms().send("acme", NUMBER, "Hi", idempotency_key="k1")
    assert sent() == [(NUMBER, "Hi")]


def test_an_attempt_cut_off_after_publishing_is_sent_again_only_after_resend_after(now, monkeypatch):
    """The documented cost of a key SNS does not take: the first attempt published, then lost the
    answer. An attempt within ``resend_after`` sends nothing and is told when to look again; one
    after it publishes again (at least once, never twice within the window)."""
    sns, publish = client("sns"), client("sns").publish
    calls = []

    def lost_answer(**kwargs):
        calls.append(kwargs)
        answer = publish(**kwargs)
        if len(calls) == 1:
            raise ReadTimeoutError(endpoint_url="https://sns.eu-west-1.amazonaws.com")
        return answer

    monkeypatch.setattr(sns, "publish", lost_answer)
    sms = SnsSms(resend_after=timedelta(minutes=5))
    with pytest.raises(RobotFailed, match="whether the SMS went out is not known") as unknown:
        sms.send("acme", NUMBER, "Hi", idempotency_key="k1")
    assert (unknown.value.retryable, unknown.value.retry_after) == (True, 300)
    now.advance(timedelta(minutes=2))
    with pytest.raises(RobotFailed, match="an earlier attempt is sending this SMS") as waiting:
        sms.send("acme", NUMBER, "Hi", idempotency_key="k1")
    assert (waiting.value.retryable, waiting.value.retry_after) == (True, 180)
    assert len(sent()) == 1
    now.advance(timedelta(minutes=3))
    again = sms.send("acme", NUMBER, "Hi", idempotency_key="k1")
    assert len(sent()) == 2
    assert list(sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages)[-1] == again.id
    assert sms.send("acme", NUMBER, "Hi", idempotency_key="k1") == again
    assert len(sent()) == 2


def test_a_sender_id_sns_would_refuse_is_a_configuration_error():
    with pytest.raises(ValueError, match="1 to 11 letters and digits"):
        SnsSms("Acme Shop Ltd")
    with pytest.raises(ValueError):
        SnsSms("12345")
