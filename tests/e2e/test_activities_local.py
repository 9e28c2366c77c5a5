"""Activities through the local runtime over HTTP, as a manager logs them: an outgoing call of two
minutes or more moves the deal to the stage of the pipeline's *outgoing call* trigger; the timeline
shows the call and the move (who, which trigger), the journal the verdict. The same call logged
again with its Idempotency-Key, an incoming call, a call too short and a malformed one move nothing."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Local

pytestmark = pytest.mark.e2e

CALL = {"kind": "call", "direction": "outgoing", "subject": "Offer follow-up", "duration_seconds": 180}


def stage_of(local: Local, deal_id: str) -> str:
    return local.call("GET", f"/items/deal/{deal_id}").body["stage_id"]


def test_an_outgoing_call_moves_the_deal_once_and_says_why(local: Local) -> None:
    # Given an "outgoing call" trigger (two minutes or more) on "Awaiting payment", and a new deal
    trigger = {
        "type_code": "outgoing_call",
        "stage_id": "payment",
        "name": "Called about the invoice",
        "params": {"min_duration_seconds": 120},
    }
    rule = local.call("POST", "/automation/deal/sales/triggers", trigger)
    assert rule.status == 201, rule.body
    deal = local.call("POST", "/items/deal", {"title": "Meeting chairs x8"}).body
    deal_id, responsible = deal["id"], deal["responsible_id"]
    path = f"/items/deal/{deal_id}/activities"

    # When calls that must not move it are logged
    too_short = local.call("POST", path, CALL | {"duration_seconds": 30})
    incoming = local.call("POST", path, CALL | {"direction": "incoming"})
    malformed = local.call("POST", path, CALL | {"kind": "fax"})
    # Then nothing moved; the malformed one was refused
    assert (too_short.status, incoming.status, malformed.status) == (201, 201, 422)
    assert stage_of(local, deal_id) == "new"

    # When the manager logs a three-minute outgoing call, and the client retries the request
    headers = {"Idempotency-Key": f"e2e-call-{deal_id}"}
    logged = local.call("POST", path, CALL, headers=headers)
    again = local.call("POST", path, CALL, headers=headers)

    # Then the deal moved once, to "Awaiting payment", and the retry got the first answer
    assert logged.status == 201, logged.body
    (fired,) = logged.body["triggers"]
    assert fired["moved"] and fired["stage_id"] == "payment" and fired["rule_id"] == rule.body["id"]
    assert again.body == logged.body
    assert stage_of(local, deal_id) == "payment"
    timeline = local.call("GET", f"/items/deal/{deal_id}/timeline").body["entries"]
    moves = [e for e in timeline if e["kind"] == "stage_changed"]
    (move,) = moves
    assert move["by"] == responsible and move["data"]["trigger"]["name"] == "Called about the invoice"
    assert len([e for e in timeline if e["kind"] == "activity"]) == 3  # too short, incoming, the call
    journal = local.trigger_journal("deal", deal_id)
    outcomes = [e["outcome"] for e in journal]
    assert outcomes.count("moved") == 1
    (moved,) = [e for e in journal if e["outcome"] == "moved"]
    assert [(v["rule_id"], v["verdict"]) for v in moved["verdicts"]] == [(rule.body["id"], "moved")]
    local.call("DELETE", f"/automation/deal/sales/triggers/{rule.body['id']}")
