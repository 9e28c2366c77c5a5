"""Calls as the providers report them: Twilio's callbacks (signatures made by the ``twilio``
package's RequestValidator) and a PBX's JSON reports, each read as the call that ended or as a
status on the way; and the lines that take them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from twilio.request_validator import RequestValidator

from crm.domain.errors import Invalid, Unauthorized
from crm.domain.telephony import (
    CallOutcome,
    Direction,
    Line,
    Passing,
    Provider,
    new_line_id,
    pbx_call,
    tenant_of_line,
    twilio_call,
    verify_twilio,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TOKEN = "0123456789abcdef0123456789abcdef"
URL = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/dev/telephony/twilio/tl_acme_0a1b2c3d4e5f"
SID = "CA" + "1" * 32


def callback(status: str, direction: str = "inbound", **more: str) -> dict[str, str]:
    ends = {"From": "+4915112345678", "To": "+493055500000"}
    if direction != "inbound":
        ends = {"From": "+493055500000", "To": "+4915112345678"}
    return {"CallSid": SID, "CallStatus": status, "Direction": direction, **ends, **more}


# ---------------------------------------------------------------- Twilio's signature


def test_a_signature_twilio_made_over_the_url_and_form_verifies():
    params = callback("no-answer", Timestamp="Mon, 23 Nov 2026 09:00:00 +0000")
    signature = RequestValidator(TOKEN).compute_signature(URL, params)
    verify_twilio(URL, sorted(params.items()), signature, TOKEN)


@pytest.mark.parametrize(
    ("signed_url", "sent_url"),
    [
        (URL.replace(".com/", ".com:443/"), URL),  # Twilio was given the port, API Gateway does not say it
        (URL, URL.replace(".com/", ".com:443/")),
    ],
)
def test_the_default_port_is_the_same_url(signed_url, sent_url):
    params = callback("completed")
    verify_twilio(
        sent_url, list(params.items()), RequestValidator(TOKEN).compute_signature(signed_url, params), TOKEN
    )


def test_a_query_string_is_part_of_what_twilio_signs():
    params = callback("completed")
    with_query = URL + "?source=number-1"
    signature = RequestValidator(TOKEN).compute_signature(with_query, params)
    verify_twilio(with_query, list(params.items()), signature, TOKEN)
    with pytest.raises(Unauthorized):
        verify_twilio(URL, list(params.items()), signature, TOKEN)


@pytest.mark.parametrize(
    "change",
    [
        lambda p, u, t: (p, u, "f" * 32),  # another account's token
        lambda p, u, t: (p, u.replace("/dev/", "/prod/"), t),  # another URL
        lambda p, u, t: ({**p, "CallStatus": "completed"}, u, t),  # another form
    ],
)
def test_a_signature_over_anything_else_is_refused(change):
    params = callback("no-answer")
    signature = RequestValidator(TOKEN).compute_signature(URL, params)
    sent, url, token = change(params, URL, TOKEN)
    with pytest.raises(Unauthorized, match="does not match"):
        verify_twilio(url, list(sent.items()), signature, token)


def test_no_signature_is_refused():
    with pytest.raises(Unauthorized, match="no X-Twilio-Signature"):
        verify_twilio(URL, [], None, TOKEN)


# ---------------------------------------------------------------- Twilio's calls


@pytest.mark.parametrize(
    ("params", "outcome"),
    [
        (callback("no-answer"), CallOutcome.MISSED),
        (callback("busy"), CallOutcome.MISSED),
        (callback("canceled"), CallOutcome.MISSED),
        (callback("completed", CallDuration="184"), CallOutcome.INCOMING),
        # A <Dial> action, as Twilio posts it while the caller's leg is still up:
        (callback("in-progress", DialCallStatus="no-answer", DialCallDuration="0"), CallOutcome.MISSED),
        (callback("in-progress", DialCallStatus="busy"), CallOutcome.MISSED),
        (callback("in-progress", DialCallStatus="completed", DialCallDuration="75"), CallOutcome.INCOMING),
        (callback("in-progress", DialCallStatus="answered", DialCallDuration="75"), CallOutcome.INCOMING),
        (callback("completed", "outbound-api", CallDuration="95"), CallOutcome.OUTGOING),
        (callback("no-answer", "outbound-dial"), CallOutcome.OUTGOING),
    ],
)
def test_a_final_status_is_the_call_it_reports(params, outcome):
    call = twilio_call(params, NOW)
    assert not isinstance(call, Passing)
    assert call.outcome is outcome and call.client_number == "+4915112345678"
    # One outcome per call on a line: whichever final report of it comes first.
    assert call.event_id("tl_acme_0a1b2c3d4e5f") == f"twilio:tl_acme_0a1b2c3d4e5f:{SID}"


def test_an_answered_call_carries_its_duration_and_time():
    call = twilio_call(
        callback("completed", CallDuration="184", Timestamp="Mon, 23 Nov 2026 09:03:04 +0000"), NOW
    )
    assert not isinstance(call, Passing)
    assert (call.duration_seconds, call.ended_at, call.direction) == (
        184,
        datetime(2026, 11, 23, 9, 3, 4, tzinfo=UTC),
        Direction.INBOUND,
    )
    assert call.ring_seconds is None  # Twilio does not say


@pytest.mark.parametrize("status", ["queued", "initiated", "ringing", "in-progress"])
def test_a_status_on_the_way_is_passed_over(status):
    assert isinstance(twilio_call(callback(status), NOW), Passing)


def test_a_dial_actions_duration_is_the_conversation():
    call = twilio_call(callback("in-progress", DialCallStatus="completed", DialCallDuration="75"), NOW)
    assert not isinstance(call, Passing) and call.duration_seconds == 75


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"CallStatus": "exploded"}, "CallStatus"),  # a status Twilio may add: answered, not acted on
        ({"Direction": "trunking-originating"}, "Direction"),  # a SIP trunk's leg
        ({"DialCallStatus": "ringing"}, "DialCallStatus"),
        ({"Timestamp": "Mon, 09 Nov 2026 09:00:00 +0000"}, "too old"),  # a replay of a captured callback
    ],
)
def test_what_is_not_a_clients_ended_call_is_passed_over(change, words):
    passing = twilio_call(callback("completed") | change, NOW)
    assert isinstance(passing, Passing) and words in passing.why


def test_a_caller_without_a_number_is_passed_over():
    passing = twilio_call(callback("no-answer") | {"From": "client:alice"}, NOW)
    assert isinstance(passing, Passing) and "client:alice" in passing.why


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"CallSid": "CA123"}, "CallSid"),
        ({"CallDuration": "forever"}, "CallDuration"),
        ({"Timestamp": "yesterday"}, "Timestamp"),
    ],
)
def test_a_form_that_is_not_a_calls_is_refused(change, words):
    with pytest.raises(Invalid, match=words):
        twilio_call(callback("completed") | change, NOW)


# ---------------------------------------------------------------- a PBX's reports


def report(**more):
    return {
        "call_id": "8812-1",
        "direction": "inbound",
        "answered": False,
        "client_number": "+49 151 12345678",
    } | more


def test_a_pbx_report_is_the_call_it_describes():
    missed = pbx_call(report(ring_seconds=25), NOW)
    assert (missed.outcome, missed.client_number, missed.ring_seconds, missed.ended_at) == (
        CallOutcome.MISSED,
        "+4915112345678",
        25,
        NOW,
    )
    answered = pbx_call(report(answered=True, duration_seconds=61, ended_at="2026-11-23T10:00:00+01:00"), NOW)
    assert (answered.outcome, answered.duration_seconds, answered.ended_at) == (CallOutcome.INCOMING, 61, NOW)
    assert pbx_call(report(direction="outbound"), NOW).outcome is CallOutcome.OUTGOING
    assert missed.event_id("tl_acme_0a1b2c3d4e5f") == "pbx:tl_acme_0a1b2c3d4e5f:8812-1"


@pytest.mark.parametrize(
    ("document", "words"),
    [
        ([], "JSON object"),
        ({"call_id": "1"}, "required"),
        (report(call_id="has spaces"), "call_id"),
        (report(direction="up"), "direction"),
        (report(answered="yes"), "answered"),
        (report(client_number=42), "client_number"),
        (report(client_number="12"), "phone number"),
        (report(ended_at="2026-11-23T10:00:00"), "time zone"),
        (report(duration_seconds=90_000), "duration_seconds"),
        (report(ring_seconds="long"), "ring_seconds"),
        (report(extra=1), "unknown fields"),
    ],
)
def test_a_report_that_is_not_a_calls_is_refused(document, words):
    with pytest.raises(Invalid, match=words):
        pbx_call(document, NOW)


# ---------------------------------------------------------------- lines


def test_a_line_id_names_its_tenant():
    line_id = new_line_id("acme")
    assert tenant_of_line(line_id) == "acme"
    assert tenant_of_line("pa_acme_0a1b2c3d4e5f") is None and tenant_of_line("") is None


def test_a_twilio_line_is_checked_with_an_auth_token_and_a_pbx_line_with_a_secret_of_the_crms():
    made = Line("acme", new_line_id("acme"), "Office", Provider.TWILIO, NOW, TOKEN)
    assert made.path() == f"/telephony/twilio/{made.id}"
    with pytest.raises(Invalid, match="auth_token"):
        Line("acme", new_line_id("acme"), "Office", Provider.TWILIO, NOW, "not-a-token")
    with pytest.raises(Invalid, match="made by the CRM"):
        Line("acme", new_line_id("acme"), "PBX", Provider.PBX, NOW, "short")
    with pytest.raises(Invalid, match="tenant 'globex'"):
        Line("globex", new_line_id("acme"), "Office", Provider.TWILIO, NOW, TOKEN)
