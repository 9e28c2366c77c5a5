"""Calls from robots through Twilio (``crm.adapters.telephony.TwilioCalls``) over the HTTP port: the
request as Twilio's Calls API takes it (form-encoded, basic auth, TwiML ``<Say>`` escaped), Twilio's
answers as Twilio gives them, and the once-record (moto's DynamoDB) that stands in for the
idempotency key Twilio does not take."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import pytest

from crm.adapters.telephony import TwilioCalls
from crm.domain import clock
from crm.domain.ports import HttpAnswer
from crm.domain.robots import RobotFailed
from tests.fakes import FakeHttp

SID, TOKEN = "AC0123456789abcdef0123456789abcdef", "auth-token-1"
NUMBER = "+4915123456789"
JSON = {"content-type": "application/json"}


def created(sid: str = "CA42") -> HttpAnswer:
    call = {"sid": sid, "account_sid": SID, "to": NUMBER, "from": "+14155550100", "status": "queued"}
    return HttpAnswer(201, JSON, json.dumps(call).encode())


def twilio_error(status: int, code: int, message: str, **headers: str) -> HttpAnswer:
    body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}"}
    return HttpAnswer(status, {**JSON, **headers}, json.dumps({**body, "status": status}).encode())


@pytest.fixture
def now(aws):
    stopped = clock.FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    clock.use_clock(stopped)
    yield stopped
    clock.use_clock(clock.SystemClock())


def twilio(*answers: HttpAnswer) -> tuple[TwilioCalls, FakeHttp]:
    http = FakeHttp(list(answers))
    return TwilioCalls(http, SID, TOKEN, "+14155550100", resend_after=timedelta(minutes=5)), http


def test_a_call_is_asked_as_twilio_takes_it_with_the_text_escaped_in_twiml(now):
    calls, http = twilio(created())
    text = 'Your order <25> & "more" is ready'
    answer = calls.call_and_say("acme", NUMBER, text, voice="Polly.Joanna", idempotency_key="k1")
    assert (answer.id, answer.details) == ("CA42", {"to": NUMBER, "status": "queued"})
    (request,) = http.requests
    assert request.url == f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Calls.json"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(request.body.decode(), strict_parsing=True)) == {
        "To": NUMBER,
        "From": "+14155550100",
        "Twiml": '<Response><Say voice="Polly.Joanna">'
        'Your order &lt;25&gt; &amp; "more" is ready</Say></Response>',
    }


def test_the_same_key_places_no_second_call(now):
    calls, http = twilio(created("CA1"), created("CA2"))
    first = calls.call_and_say("acme", NUMBER, "Hello", voice="alice", idempotency_key="k1")
    assert calls.call_and_say("acme", NUMBER, "Hello", voice="alice", idempotency_key="k1") == first
    assert len(http.requests) == 1


def test_twilios_refusal_is_in_its_words_not_retried_and_frees_the_key(now):
    calls, http = twilio(
        twilio_error(400, 21211, "Invalid 'To' Phone Number: +49151XXXX6789"), created("CA7")
    )
    with pytest.raises(RobotFailed, match="Twilio answered 400: Invalid 'To' Phone Number") as failed:
        calls.call_and_say("acme", NUMBER, "Hello", voice="alice", idempotency_key="k1")
    assert not failed.value.retryable
    assert calls.call_and_say("acme", NUMBER, "Hello", voice="alice", idempotency_key="k1").id == "CA7"
    assert len(http.requests) == 2


def test_a_throttle_is_retried_after_the_time_twilio_asks_and_the_retry_calls(now):
    calls, _ = twilio(twilio_error(429, 20429, "Too Many Requests", **{"retry-after": "12"}), created())
    with pytest.raises(RobotFailed, match="Too Many Requests") as failed:
        calls.call_and_say("acme", NUMBER, "Hello", voice="alice", idempotency_key="k1")
    assert (failed.value.retryable, failed.value.retry_after) == (True, 12)
    assert calls.call_and_say("acme", NUMBER, "Hello", voice="alice", idempotency_key="k1").id == "CA42"


def test_a_timeout_may_have_placed_the_call_so_it_is_placed_again_only_after_resend_after(now):
    calls, http = twilio(created("CA9"))
    http.fail_next(1, RobotFailed("https://api.twilio.com/... did not answer within 10 s"))
    with pytest.raises(RobotFailed, match="whether the call went out is not known") as unknown:
        calls.call_and_say("acme", NUMBER, "Hello", voice="alice", idempotency_key="k1")
    assert (unknown.value.retryable, unknown.value.retry_after) == (True, 300)
    with pytest.raises(RobotFailed, match="an earlier attempt is sending this call"):
        calls.call_and_say("acme", NUMBER, "Hello", voice="alice", idempotency_key="k1")
    assert http.requests == []  # FakeHttp records what it answered; the timed-out one it did not
    now.advance(timedelta(minutes=5))
    assert calls.call_and_say("acme", NUMBER, "Hello", voice="alice", idempotency_key="k1").id == "CA9"


def test_a_server_error_leaves_unknown_whether_the_call_was_placed(now):
    calls, _ = twilio(twilio_error(503, 20503, "Service Unavailable"))
    with pytest.raises(RobotFailed, match=r"not known.*Service Unavailable") as failed:
        calls.call_and_say("acme", NUMBER, "Hello", voice="alice", idempotency_key="k1")
    assert failed.value.retryable


@pytest.mark.parametrize(
    ("to", "text", "voice", "message"),
    [
        ("0151 2345 6789", "Hello", "alice", "country code"),
        (NUMBER, "  ", "alice", "empty"),
        (NUMBER, "Hello", 'alice" loop="0', "not a voice name"),
        (NUMBER, "&" * 900, "alice", "too long"),
    ],
)
def test_what_twilio_cannot_call_is_refused_without_asking(now, to, text, voice, message):
    calls, http = twilio()
    with pytest.raises(RobotFailed, match=message) as failed:
        calls.call_and_say("acme", to, text, voice=voice, idempotency_key="k1")
    assert not failed.value.retryable
    assert http.requests == []
