"""Activities through the management API: a call or an email a manager logged goes on the timeline;
an outgoing call fires *outgoing call* (its duration filter), an outgoing email *email sent to
client*; incoming ones fire nothing; a retry with the same Idempotency-Key logs nothing new."""

from __future__ import annotations

import pytest

from tests.integration.test_management_api import api as api
from tests.integration.test_management_api import call

STAGES = [
    {"name": "New"},
    {"name": "Contacted"},
    {"name": "Talked"},
    {"name": "Won", "semantic": "success"},
    {"name": "Lost", "semantic": "failure"},
]


@pytest.fixture
def deal(api):
    """A deal; triggers: a call of a minute or more -> Talked, any outgoing email -> Contacted."""
    assert (
        call(api, "POST", "/employees", {"id": "anna", "name": "Anna", "email": "anna@acme.test"}).status
        == 201
    )
    assert (
        call(
            api, "POST", "/pipelines", {"id": "sales", "item_type": "deal", "name": "Sales", "stages": STAGES}
        ).status
        == 201
    )
    for rule in (
        {
            "type_code": "outgoing_call",
            "stage_id": "talked",
            "name": "Real talk",
            "params": {"min_duration_seconds": 60},
        },
        {"type_code": "email_sent", "stage_id": "contacted", "name": "Wrote to them"},
    ):
        assert call(api, "POST", "/automation/deal/sales/triggers", rule).status == 201
    return call(api, "POST", "/items/deal", {"title": "Forklift", "responsible_id": "anna"}).body


def log(api, deal, body, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return api.call("POST", f"/items/deal/{deal['id']}/activities", body, api.key, headers)


def stage(api, deal) -> str:
    return call(api, "GET", f"/items/deal/{deal['id']}").body["stage_id"]


def timeline(api, deal) -> list[dict]:
    return call(api, "GET", f"/items/deal/{deal['id']}/timeline").body["entries"]


def test_an_outgoing_call_long_enough_moves_the_deal(api, deal):
    answer = log(
        api,
        deal,
        {
            "kind": "call",
            "direction": "outgoing",
            "duration_seconds": 240,
            "notes": "Agreed on price",
            "by": "anna",
        },
    )

    assert answer.status == 201, answer.body
    entry = answer.body["entry"]
    assert entry["kind"] == "activity" and entry["by"] == "anna"
    assert entry["data"]["kind"] == "call" and entry["data"]["duration_seconds"] == 240
    (fired,) = answer.body["triggers"]
    assert fired["moved"] and fired["stage_id"] == "talked" and fired["rule_name"] == "Real talk"
    assert stage(api, deal) == "talked"
    assert [e["kind"] for e in timeline(api, deal)][:2] == ["stage_changed", "activity"]


def test_a_short_call_is_logged_and_the_journal_says_why_it_did_not_move(api, deal):
    answer = log(api, deal, {"kind": "call", "direction": "outgoing", "duration_seconds": 20})
    (fired,) = answer.body["triggers"]
    assert not fired["moved"] and stage(api, deal) == "new"
    (entry,) = call(api, "GET", f"/items/deal/{deal['id']}/journal").body["entries"]
    assert [v["verdict"] for v in entry["verdicts"]] == ["params_mismatch"]


def test_an_outgoing_email_fires_email_sent(api, deal):
    answer = log(
        api,
        deal,
        {"kind": "email", "direction": "outgoing", "subject": "Offer", "message_id": "<a1@mail.acme.test>"},
    )
    assert answer.body["triggers"][0]["stage_id"] == "contacted" and stage(api, deal) == "contacted"
    (entry,) = call(api, "GET", f"/items/deal/{deal['id']}/journal").body["entries"]
    assert entry["event"]["type"] == "email_sent" and entry["event"]["data"] == {
        "message_id": "<a1@mail.acme.test>"
    }


def test_incoming_activities_are_kept_and_fire_nothing(api, deal):
    for kind in ("call", "email"):
        answer = log(api, deal, {"kind": kind, "direction": "incoming", "subject": "They called us"})
        assert answer.status == 201 and answer.body["triggers"] == []
    assert stage(api, deal) == "new"
    assert [e["kind"] for e in timeline(api, deal)][:2] == ["activity", "activity"]


def test_a_call_logged_for_an_earlier_time_is_placed_then(api, deal):
    answer = log(api, deal, {"kind": "call", "direction": "incoming", "at": "2020-05-01T10:00:00+02:00"})
    assert answer.body["entry"]["at"].startswith("2020-05-01T08:00:00")
    assert timeline(api, deal)[-1]["kind"] == "activity"  # oldest last: before the deal's creation


def test_a_retry_with_the_same_key_logs_once_and_answers_the_same(api, deal):
    body = {"kind": "call", "direction": "outgoing", "duration_seconds": 90}
    first = log(api, deal, body, key="call-1")
    again = log(api, deal, body, key="call-1")
    assert again.status == 201 and again.body == first.body
    assert [e["kind"] for e in timeline(api, deal)].count("activity") == 1
    other = log(api, deal, {**body, "duration_seconds": 91}, key="call-1")
    assert other.status == 422 and "another request" in other.body["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "visit", "direction": "outgoing"},
        {"kind": "call", "direction": "sideways"},
        {"kind": "email", "direction": "outgoing", "duration_seconds": 60},
        {"kind": "call", "direction": "outgoing", "duration_seconds": -1},
        {"kind": "call", "direction": "outgoing", "duration_seconds": "60"},
        {"kind": "call", "direction": "outgoing", "at": "2020-05-01T10:00:00"},  # no time zone
        {"kind": "call", "direction": "outgoing", "at": "2999-01-01T00:00:00Z"},  # not yet happened
        {"kind": "call", "direction": "outgoing", "by": "nobody"},
        {"kind": "call", "direction": "outgoing", "message_id": "<x@y>"},
        {"kind": "call", "direction": "outgoing", "subject": "a\nb"},
    ],
)
def test_bad_activities_are_refused_and_change_nothing(api, deal, body):
    answer = log(api, deal, body)
    assert answer.status == 422, answer.body
    assert stage(api, deal) == "new" and [e["kind"] for e in timeline(api, deal)] == ["created"]


def test_an_unknown_item_or_another_tenants_is_404(api, deal):
    body = {"kind": "call", "direction": "outgoing"}
    assert api.call("POST", "/items/deal/999/activities", body, api.key).status == 404
    assert api.call("POST", f"/items/deal/{deal['id']}/activities", body, api.other_key).status == 404
    assert stage(api, deal) == "new"
