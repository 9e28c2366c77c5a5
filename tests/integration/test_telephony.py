"""The telephony source through API Gateway's shapes: lines made through the management API, Twilio's
Voice status callbacks signed with the ``twilio`` package's own RequestValidator over the public URL,
and a PBX's JSON reports signed in Stripe's scheme by the ``stripe`` package, posted as REST proxy
events to IngestTelephonyFunction. Each call moves the deal once and is on its timeline once;
forged, expired, malformed and unknown-line deliveries get the status the provider expects and
change nothing."""

from __future__ import annotations

import copy
import json
import random
from datetime import datetime, timedelta
from urllib.parse import urlencode

import pytest
import stripe
from twilio.request_validator import RequestValidator

from tests.conftest import lambda_context, load_event, load_handler
from tests.integration.test_management_api import api as api
from tests.integration.test_management_api import call, new_deal
from tests.integration.test_payments_stripe import NOW
from tests.integration.test_payments_stripe import clock as clock

SAMPLE = load_event("ingest_telephony/twilio_no_answer.json")
HOST = SAMPLE["requestContext"]["domainName"]
TOKEN = "f" * 32
OTHER_TOKEN = "e" * 32
CLIENT = "+4915112345678"
STAGES = [
    {"name": "New"},
    {"id": "call_back", "name": "Call back"},
    {"id": "talked", "name": "Talked"},
    {"id": "offer", "name": "Offer"},
    {"name": "Won", "semantic": "success"},
]


@pytest.fixture
def sales(api, clock, monkeypatch):
    """Deals: missed call -> "Call back"; an answered call of 60 s or more -> "Talked"; a call we
    made -> "Offer". Leads: "Call back" first."""
    monkeypatch.setenv("PUBLIC_BASE_URL", "")  # the execute-api URL, from API Gateway's context
    for pipeline in (
        {"id": "sales", "item_type": "deal", "name": "Sales", "stages": STAGES},
        {
            "id": "leads",
            "item_type": "lead",
            "name": "Leads",
            "stages": [{"id": "lead_call_back", "name": "Call back"}],
        },
    ):
        assert call(api, "POST", "/pipelines", pipeline).status == 201
    for rule in (
        {"type_code": "missed_call", "stage_id": "call_back", "name": "Missed call"},
        {
            "type_code": "incoming_call",
            "stage_id": "talked",
            "name": "Talked",
            "params": {"min_duration_seconds": 60},
        },
        {"type_code": "outgoing_call", "stage_id": "offer", "name": "We called"},
    ):
        answer = call(api, "POST", "/automation/deal/sales/triggers", rule)
        assert answer.status == 201, answer.body


def new_line(api, **values) -> dict:
    answer = call(
        api,
        "POST",
        "/automation/telephony-lines",
        {"name": "Office", "provider": "twilio", "auth_token": TOKEN} | values,
    )
    assert answer.status == 201, answer.body
    return answer.body


@pytest.fixture
def line(api, sales):
    return new_line(api)


def twilio_params(status: str, sid: str = "CA" + "1" * 32, direction: str = "inbound", **more) -> dict:
    ends = ("+493055500000", CLIENT) if direction != "inbound" else (CLIENT, "+493055500000")
    return {
        "AccountSid": "AC" + "a" * 32,
        "ApiVersion": "2010-04-01",
        "CallSid": sid,
        "CallStatus": status,
        "Direction": direction,
        "From": ends[0],
        "To": ends[1],
        "Timestamp": "Mon, 23 Nov 2026 09:00:00 +0000",
        **more,
    }


def twilio_url(line_id: str, base: str | None = None) -> str:
    return f"{base or f'https://{HOST}/dev'}/telephony/twilio/{line_id}"


def post(event_path: str, line_id: str, body: str, headers: dict, resource: str) -> tuple[int, str]:
    event = copy.deepcopy(SAMPLE)
    kept = {k: v for k, v in event["headers"].items() if k not in ("X-Twilio-Signature", "Content-Type")}
    kept |= headers
    event.update(
        resource=resource,
        path=event_path,
        pathParameters={"line_id": line_id},
        headers=kept,
        multiValueHeaders={k: [v] for k, v in kept.items()},
        body=body,
    )
    event["requestContext"]["path"] = f"/dev{event_path}"
    answer = load_handler("ingest_telephony").lambda_handler(event, lambda_context())
    return answer["statusCode"], answer["body"]


def twilio(
    line_id: str, params: dict, token: str = TOKEN, url: str | None = None, **headers
) -> tuple[int, str]:
    """A callback as Twilio posts it, signed as Twilio signs (its own validator's computation)."""
    signature = RequestValidator(token).compute_signature(url or twilio_url(line_id), params)
    sent = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature} | headers
    path = f"/telephony/twilio/{line_id}"
    return post(path, line_id, urlencode(params), sent, "/telephony/twilio/{line_id}")


def pbx(line_id: str, report: dict, secret: str, at: datetime = NOW) -> tuple[int, dict]:
    body = json.dumps(report)
    signature = stripe.WebhookSignature.generate_signature_header(body, secret, int(at.timestamp()))
    headers = {"Content-Type": "application/json", "X-Crm-Signature": signature}
    path = f"/telephony/events/{line_id}"
    status, answer = post(path, line_id, body, headers, "/telephony/events/{line_id}")
    return status, json.loads(answer)


def state(api, deal_id: str) -> tuple[str, list[dict], list[dict]]:
    """The deal's stage, its call entries and its journal."""
    deal = call(api, "GET", f"/items/deal/{deal_id}").body
    timeline = call(api, "GET", f"/items/deal/{deal_id}/timeline").body["entries"]
    journal = call(api, "GET", f"/items/deal/{deal_id}/journal").body["entries"]
    return deal["stage_id"], [e for e in timeline if e["kind"] == "call"], journal


# ---------------------------------------------------------------- lines


def test_a_line_names_its_webhook_url_and_never_shows_its_secret_back(api, line):
    assert line["id"].startswith("tl_acme_") and line["secret"] is None
    assert line["webhook_url"] == twilio_url(line["id"])
    listed = call(api, "GET", "/automation/telephony-lines").body
    assert [each["id"] for each in listed] == [line["id"]] and TOKEN not in json.dumps(listed)
    made = new_line(api, name="Asterisk", provider="pbx", auth_token=None)
    assert made["webhook_url"].endswith(f"/dev/telephony/events/{made['id']}") and len(made["secret"]) >= 32
    again = call(api, "GET", f"/automation/telephony-lines/{made['id']}").body
    assert "secret" not in again
    assert api.call("GET", f"/automation/telephony-lines/{line['id']}", key=api.other_key).status == 404


def test_a_call_trigger_names_lines_of_the_tenant(api, line):
    rule = {"type_code": "missed_call", "stage_id": "call_back", "params": {"line_ids": [line["id"]]}}
    assert call(api, "POST", "/automation/deal/sales/triggers", rule).status == 201
    for other in ("tl_acme_ffffffffffff", "tl_globex_" + line["id"][-12:]):
        refused = call(
            api, "POST", "/automation/deal/sales/triggers", rule | {"params": {"line_ids": [other]}}
        )
        assert refused.status == 422 and "no telephony line" in refused.body["message"], refused.body


def test_bad_lines_are_refused_with_the_reason_and_nothing_is_made(api, sales):
    for body, words in [
        ({"name": "Office", "provider": "twilio"}, "auth_token"),
        ({"name": "Office", "provider": "twilio", "auth_token": "x" * 32}, "auth_token"),
        ({"name": "PBX", "provider": "pbx", "auth_token": TOKEN}, "only a Twilio line"),
        ({"name": "Office", "provider": "skype"}, "provider"),
        (
            {
                "name": "Office",
                "provider": "pbx",
                "unknown_caller": {
                    "unknown_contact": "create_item",
                    "item_type": "lead",
                    "pipeline_id": "nope",
                },
            },
            "pipeline_id",
        ),
    ]:
        refused = call(api, "POST", "/automation/telephony-lines", body)
        assert refused.status == 422 and words in refused.body["message"], (body, refused.body)
    assert call(api, "GET", "/automation/telephony-lines").body == []


# ---------------------------------------------------------------- Twilio


def test_a_missed_call_moves_the_deal_once_whatever_the_order_and_number_of_callbacks(api, line):
    # Given a deal of the caller
    deal = new_deal(api, phones=[CLIENT])["id"]
    callbacks = [twilio_params("ringing")] + [twilio_params("no-answer", CallDuration="0")] * 5
    random.Random(7).shuffle(callbacks)

    # When Twilio reports the call's statuses, the final one five times, in any order
    for params in callbacks:
        status, body = twilio(line["id"], params)
        assert status == 200 and body == '<?xml version="1.0" encoding="UTF-8"?><Response/>'

    # Then the deal moved to "Call back" once, with the call on its timeline once
    stage, calls, journal = state(api, deal)
    assert stage == "call_back"
    (entry,) = calls
    assert entry["data"] | {"line_id": None} == entry["data"] | {
        "line_id": None,
        "outcome": "missed_call",
        "client_number": CLIENT,
        "direction": "inbound",
        "status": "no-answer",
    }
    assert entry["data"]["line_id"] == line["id"]
    (moved,) = [e for e in journal if e["outcome"] == "moved"]
    assert moved["event"]["type"] == "missed_call" and moved["event"]["source"] == "telephony"


def test_a_completed_call_moves_on_and_a_late_callback_of_another_status_does_not_move_back(api, line):
    deal = new_deal(api, phones=[CLIENT])["id"]
    answered = "CA" + "2" * 32
    # The completed callback first, then ringing and in-progress arrive late: nothing moves back.
    assert twilio(line["id"], twilio_params("completed", answered, CallDuration="184"))[0] == 200
    for late in ("ringing", "in-progress"):
        assert twilio(line["id"], twilio_params(late, answered))[0] == 200
    assert state(api, deal)[0] == "talked"
    # A short answered call does not pass the trigger's 60 s: journaled, the deal stays.
    short = twilio_params("completed", "CA" + "4" * 32, CallDuration="20")
    assert twilio(line["id"], short)[0] == 200
    stage, calls, journal = state(api, deal)
    assert stage == "talked" and len(calls) == 2
    assert sorted(e["outcome"] for e in journal if e["event"]["type"] == "incoming_call") == [
        "moved",
        "not_moved",
    ]
    (short_entry,) = [e for e in journal if e["outcome"] == "not_moved"]
    assert short_entry["verdicts"][0]["verdict"] == "params_mismatch", short_entry


def test_a_dial_that_nobody_picked_up_is_one_missed_call_and_an_outbound_call_an_outgoing_one(api, line):
    deal = new_deal(api, phones=[CLIENT])["id"]
    sid = "CA" + "5" * 32
    # As Twilio sends them: the <Dial> action while the caller's leg is up, then the number's status
    # callback once it ended (its CallDuration counts the ringing): one call, one outcome.
    dial = twilio_params("in-progress", sid, DialCallStatus="no-answer", DialCallDuration="0")
    assert twilio(line["id"], dial)[0] == 200
    assert twilio(line["id"], twilio_params("completed", sid, CallDuration="32"))[0] == 200
    stage, calls, journal = state(api, deal)
    assert stage == "call_back"
    assert [c["data"]["outcome"] for c in calls] == ["missed_call"]
    assert [e["event"]["type"] for e in journal] == ["missed_call"]
    outbound = twilio_params("completed", "CA" + "6" * 32, direction="outbound-api", CallDuration="95")
    assert twilio(line["id"], outbound)[0] == 200
    stage, calls, _ = state(api, deal)
    assert stage == "offer"
    assert sorted(c["data"]["outcome"] for c in calls) == ["missed_call", "outgoing_call"]


def test_a_new_number_gets_a_lead_in_call_back_as_the_line_says(api, sales):
    setting = {"unknown_contact": "create_item", "item_type": "lead", "pipeline_id": "leads"}
    line = new_line(api, unknown_caller=setting)
    assert line["unknown_caller"]["pipeline_id"] == "leads"
    for _ in range(3):  # redelivered: one lead
        assert twilio(line["id"], twilio_params("no-answer", From="+4930901820"))[0] == 200
    leads = call(api, "GET", "/items/lead").body["items"]
    (lead,) = leads
    assert lead["title"] == "Missed call from +4930901820" and lead["phones"] == ["+4930901820"]
    assert lead["stage_id"] == "lead_call_back"
    timeline = call(api, "GET", f"/items/lead/{lead['id']}/timeline").body["entries"]
    assert [e["data"]["outcome"] for e in timeline if e["kind"] == "call"] == ["missed_call"]
    # Without a setting of its own, a line follows the tenant's (ignore): no lead.
    other = new_line(api, name="Second")
    assert twilio(other["id"], twilio_params("no-answer", "CA" + "7" * 32, From="+4930901821"))[0] == 200
    assert len(call(api, "GET", "/items/lead").body["items"]) == 1


def test_forged_misaddressed_and_malformed_callbacks_change_nothing(api, line):
    deal = new_deal(api, phones=[CLIENT])["id"]
    params = twilio_params("no-answer")
    good = RequestValidator(TOKEN).compute_signature(twilio_url(line["id"]), params)
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    def sent(body: str, headers: dict) -> tuple[int, str]:
        path = f"/telephony/twilio/{line['id']}"
        return post(path, line["id"], body, headers, "/telephony/twilio/{line_id}")

    tampered = urlencode(params | {"From": "+4915199999999"})  # other parameters than were signed
    cases = [
        (twilio(line["id"], params, token=OTHER_TOKEN), 403, "does not match"),
        (
            twilio(line["id"], params, url=twilio_url(line["id"], "https://evil.example")),
            403,
            "does not match",
        ),
        (sent(tampered, form | {"X-Twilio-Signature": good}), 403, "does not match"),
        (sent(urlencode(params), form), 403, "no X-Twilio-Signature"),
        (
            sent(json.dumps(params), {"Content-Type": "application/json", "X-Twilio-Signature": good}),
            415,
            "form",
        ),
        (twilio(line["id"], params | {"CallSid": "not-a-sid"}), 400, "CallSid"),
        (twilio("tl_acme_ffffffffffff", params), 404, "does not exist"),
        (twilio("tl_globex_" + line["id"][-12:], params), 404, "does not exist"),
        (twilio("not-a-line", params), 404, "does not exist"),
    ]
    for (status, body), expected, words in cases:
        assert status == expected and words in json.loads(body)["message"], (expected, body)
    # Verified, but not a client's ended call: answered as Twilio expects (2xx), nothing done.
    for ignored in ({"CallStatus": "exploded"}, {"Direction": "trunking-originating"}):
        assert twilio(line["id"], params | ignored) == (
            200,
            '<?xml version="1.0" encoding="UTF-8"?><Response/>',
        )
    assert state(api, deal) == ("new", [], [])


def test_a_custom_domain_is_the_url_twilio_signs_when_configured(api, line, monkeypatch):
    deal = new_deal(api, phones=[CLIENT])["id"]
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://crm.acme.example")
    execute_api = twilio(line["id"], twilio_params("no-answer"))
    assert execute_api[0] == 403  # signed over the execute-api URL, which Twilio was not given
    custom = twilio_url(line["id"], "https://crm.acme.example")
    # The URL the API hands out is the one the signature is checked against.
    assert call(api, "GET", f"/automation/telephony-lines/{line['id']}").body["webhook_url"] == custom
    assert twilio(line["id"], twilio_params("no-answer"), url=custom)[0] == 200
    assert state(api, deal)[0] == "call_back"


def test_a_twilio_line_takes_a_new_auth_token_at_once_and_refuses_the_old_one(api, line):
    deal = new_deal(api, phones=[CLIENT])["id"]
    # A container that has kept the line (it took a call a moment ago) ...
    assert twilio(line["id"], twilio_params("completed", "CA" + "a" * 32, CallDuration="5"))[0] == 200
    patched = call(api, "PATCH", f"/automation/telephony-lines/{line['id']}", {"auth_token": OTHER_TOKEN})
    assert patched.status == 200, patched.body
    # ... reads it again when a callback is signed with another token: none is lost
    assert twilio(line["id"], twilio_params("no-answer"), token=OTHER_TOKEN)[0] == 200
    assert twilio(line["id"], twilio_params("no-answer", "CA" + "b" * 32))[0] == 403
    assert state(api, deal)[0] == "call_back"
    # Another container's API took a new token: this one, still keeping the line, reads it again.
    from dataclasses import replace

    from crm.adapters import telephony_lines

    stored = telephony_lines.get("acme", line["id"])
    telephony_lines.replace(replace(stored, secret="d" * 32), expected_secret=stored.secret)
    assert (
        twilio(line["id"], twilio_params("completed", "CA" + "c" * 32, CallDuration="90"), token="d" * 32)[0]
        == 200
    )


def test_the_same_call_id_on_two_pbxes_is_two_calls(api, sales):
    deal = new_deal(api, phones=[CLIENT])["id"]
    first, second = (new_line(api, name=n, provider="pbx", auth_token=None) for n in ("Office", "Warehouse"))
    assert pbx(first["id"], report(call_id="1001"), first["secret"])[1]["applied"][0]["outcome"] == "moved"
    assert pbx(second["id"], report(call_id="1001"), second["secret"])[0] == 200
    assert len(state(api, deal)[1]) == 2


# ---------------------------------------------------------------- any other PBX


def report(**more) -> dict:
    return {
        "call_id": "pbx-8812",
        "direction": "inbound",
        "answered": False,
        "client_number": CLIENT,
        "ended_at": "2026-11-23T09:00:00+00:00",
        "ring_seconds": 25,
    } | more


def test_a_pbx_report_moves_the_deal_once_and_a_ring_too_short_does_not(api, sales):
    deal = new_deal(api, phones=[CLIENT])["id"]
    made = new_line(api, name="Asterisk", provider="pbx", auth_token=None)
    # The trigger only for calls that rang 10 s or more, on this line.
    triggers = call(api, "GET", "/automation/deal/sales").body["triggers"]
    (missed,) = [t for t in triggers if t["type_code"] == "missed_call"]
    rule = {k: missed[k] for k in ("type_code", "name", "stage_id")}
    rule["params"] = {"line_ids": [made["id"]], "min_ring_seconds": 10}
    changed = call(api, "PUT", f"/automation/deal/sales/triggers/{missed['id']}", rule)
    assert changed.status == 200, changed.body

    short = pbx(made["id"], report(call_id="pbx-1", ring_seconds=3), made["secret"])
    assert short[0] == 200 and short[1]["applied"][0]["outcome"] == "not_moved", short
    answers = [pbx(made["id"], report(), made["secret"]) for _ in range(5)]
    assert {a[0] for a in answers} == {200} and answers[0][1]["applied"][0]["outcome"] == "moved"
    assert all(a[1]["applied"] == answers[0][1]["applied"] for a in answers)
    stage, calls, _ = state(api, deal)
    assert stage == "call_back" and len(calls) == 2


def test_forged_expired_and_malformed_pbx_reports_change_nothing(api, sales, clock):
    deal = new_deal(api, phones=[CLIENT])["id"]
    made = new_line(api, name="Asterisk", provider="pbx", auth_token=None)
    secret = made["secret"]
    cases = [
        (pbx(made["id"], report(), "another-secret-entirely-0123456789"), 401, "does not match"),
        (pbx(made["id"], report(), secret, at=NOW - timedelta(seconds=301)), 401, "300 s"),
        (pbx(made["id"], report(direction="sideways"), secret), 400, "direction"),
        (pbx(made["id"], report(client_number="call me"), secret), 400, "phone number"),
        (pbx(made["id"], report(answered="no"), secret), 400, "answered"),
        (pbx(made["id"], report(color="red"), secret), 400, "unknown fields"),
        (pbx(made["id"], report(ring_seconds=-1), secret), 400, "ring_seconds"),
        (pbx("tl_acme_ffffffffffff", report(), secret), 404, "does not exist"),
    ]
    for (status, body), expected, words in cases:
        assert status == expected and words in body["message"], (expected, body)
    # A Twilio line's URL does not take a PBX's report, nor a PBX line Twilio's callbacks.
    twilio_line = new_line(api)
    assert pbx(twilio_line["id"], report(), secret)[0] == 404
    assert twilio(made["id"], twilio_params("no-answer"))[0] == 404
    assert state(api, deal) == ("new", [], [])
    # A new secret: the old one verifies through its grace period, then not; the new one at once.
    renewed = call(
        api, "POST", f"/automation/telephony-lines/{made['id']}/new-secret", {"grace_hours": 1}
    ).body
    assert renewed["previous_valid_until"] == "2026-11-23T10:00:00Z"
    assert pbx(made["id"], report(call_id="r-1"), renewed["secret"])[0] == 200
    assert pbx(made["id"], report(call_id="r-2"), secret)[0] == 200
    clock.advance(timedelta(hours=1, seconds=1))
    later = NOW + timedelta(hours=1, seconds=1)
    assert pbx(made["id"], report(call_id="r-3"), secret, at=later)[0] == 401
    assert pbx(made["id"], report(call_id="r-3"), renewed["secret"], at=later)[0] == 200
    shown = call(api, "GET", f"/automation/telephony-lines/{made['id']}").body
    assert shown["previous_valid_until"] is None
