"""Telephony end to end through the local runtime and its demo tenant, over HTTP only: the office's
Twilio line and the warehouse's PBX post their call events to the webhook URLs the API hands out,
signed as Twilio (its own RequestValidator) and as the PBX scheme (the ``stripe`` package's signer)
sign them. A missed call puts the caller's lead in "Call back"; a new number gets a new lead there;
duplicates in any order are one call; forged and expired events change nothing."""

from __future__ import annotations

import json
import random
from datetime import datetime
from urllib.parse import urlencode

import stripe
from twilio.request_validator import RequestValidator

from infra.demo import DEMO_TWILIO_TOKEN
from tests.e2e.conftest import Local
from tests.e2e.harness import http

MARIA = "+447700900123"  # the demo lead's phone


def twilio(local: Local, params: dict, token: str = DEMO_TWILIO_TOKEN) -> int:
    url = local.demo["telephony_lines"]["twilio"]["webhook_url"]
    signature = RequestValidator(token).compute_signature(url, params)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    answer = http("POST", url, urlencode(params).encode(), headers)
    return answer.status


def local_now(local: Local) -> float:
    """The runtime's time: other tests move its clock on, and it checks a signature's time by it."""
    return datetime.fromisoformat(local.call("GET", "/_local/clock", key=None).body["now"]).timestamp()


def pbx(local: Local, report: dict, late: float = 0, secret: str | None = None) -> tuple[int, dict]:
    line = local.demo["telephony_lines"]["pbx"]
    body = json.dumps(report)
    signature = stripe.WebhookSignature.generate_signature_header(
        body, secret or line["secret"], int(local_now(local) - late)
    )
    headers = {"Content-Type": "application/json", "X-Crm-Signature": signature}
    answer = http("POST", line["webhook_url"], body.encode(), headers)
    return answer.status, answer.body


def callback(sid: str, status: str, caller: str) -> dict:
    return {
        "AccountSid": "AC" + "a" * 32,
        "ApiVersion": "2010-04-01",
        "CallSid": sid,
        "CallStatus": status,
        "Direction": "inbound",
        "From": caller,
        "To": "+442079460000",
    }


def lead_of(local: Local, phone: str) -> dict:
    leads = local.call("GET", "/items/lead?limit=100").body["items"]
    (lead,) = [lead for lead in leads if phone in lead["phones"]]
    return lead


def test_a_missed_call_on_twilio_puts_the_callers_lead_in_call_back_once(local: Local) -> None:
    # Given Maria's lead, unprocessed
    lead = lead_of(local, MARIA)
    assert lead["stage_id"] == "unprocessed"
    sid = "CA" + "9" * 32
    callbacks = [callback(sid, "ringing", MARIA)] + [callback(sid, "no-answer", MARIA)] * 5
    random.Random(11).shuffle(callbacks)

    # When Twilio reports her call (ringing, then nobody answered), the final one five times
    assert {twilio(local, params) for params in callbacks} == {200}

    # Then the lead is in "Call back", the call on its timeline and the move in its journal, once
    assert local.call("GET", f"/items/lead/{lead['id']}").body["stage_id"] == "call_back"
    timeline = local.call("GET", f"/items/lead/{lead['id']}/timeline").body["entries"]
    (call,) = [e for e in timeline if e["kind"] == "call"]
    assert (call["data"]["outcome"], call["data"]["client_number"]) == ("missed_call", MARIA)
    moved = [e for e in local.trigger_journal("lead", lead["id"]) if e["outcome"] == "moved"]
    assert [(e["event"]["type"], e["event"]["source"]) for e in moved] == [("missed_call", "telephony")]


def test_a_missed_call_from_a_new_number_on_the_pbx_makes_a_lead_in_call_back(local: Local) -> None:
    report = {"call_id": "wh-1", "direction": "inbound", "answered": False, "client_number": "+442079460123"}
    answers = [pbx(local, report) for _ in range(3)]
    assert [status for status, _ in answers] == [200] * 3
    assert answers[0][1]["applied"][0]["outcome"] == "moved", answers[0]
    lead = lead_of(local, "+442079460123")
    assert (lead["title"], lead["stage_id"]) == ("Missed call from +442079460123", "call_back")


def test_forged_and_expired_call_events_change_nothing(local: Local) -> None:
    number = "+442079460999"
    assert twilio(local, callback("CA" + "8" * 32, "no-answer", number), token="e" * 32) == 403
    report = {"call_id": "wh-2", "direction": "inbound", "answered": False, "client_number": number}
    assert pbx(local, report, late=600)[0] == 401
    assert pbx(local, report, secret="not-the-lines-secret-0123456789abcdef")[0] == 401
    leads = local.call("GET", "/items/lead?limit=100").body["items"]
    assert not [lead for lead in leads if number in lead["phones"]]
