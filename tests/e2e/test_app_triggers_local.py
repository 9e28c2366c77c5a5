"""An app trigger through the local runtime over HTTP, as an application would fire it: the deal
moves to "Awaiting payment", the timeline names the trigger and the employee, the journal says
why, and the application's retry changes nothing."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Local
from tests.e2e.harness import http

pytestmark = pytest.mark.e2e


def execute(local: Local, code: str, target: str, key: str):
    headers = {
        "Authorization": f"Bearer {local.demo['api_key']}",
        "Content-Type": "application/json",
        "Idempotency-Key": key,
    }
    url = f"{local.api_url}/automation/app-triggers/{code}/execute"
    return http("POST", url, {"target": target}, headers)


def test_an_app_trigger_moves_the_deal_and_journals_why(local: Local) -> None:
    # Given a registered code and a trigger naming it on "Awaiting payment" of the demo's deals
    registered = local.call("POST", "/automation/app-triggers", {"code": "e2e_paid", "name": "Paid (e2e)"})
    assert registered.status == 201, registered.body
    manager = local.demo["employees"]["manager"]
    rule = {
        "type_code": "app_trigger",
        "stage_id": "payment",
        "name": "Invoice paid",
        "params": {"code": "e2e_paid"},
        "run_as": manager,
    }
    trigger = local.call("POST", "/automation/deal/sales/triggers", rule)
    assert trigger.status == 201, trigger.body
    deal = local.call("POST", "/items/deal", {"title": "Office chairs", "amount": 1200}).body["id"]

    # When the application fires it for the deal, and retries the same request
    first = execute(local, "e2e_paid", f"DEAL_{deal}", "e2e-payment-1")
    again = execute(local, "e2e_paid", f"DEAL_{deal}", "e2e-payment-1")

    # Then the deal moved once, by the trigger, recorded as the manager's
    assert first.status == 200, first.body
    assert first.body["moved"] is True and first.body["stage_id"] == "payment"
    assert again.status == 200 and again.body == first.body
    assert local.call("GET", f"/items/deal/{deal}").body["stage_id"] == "payment"
    entries = local.call("GET", f"/items/deal/{deal}/timeline").body["entries"]
    moves = [e for e in entries if e["kind"] == "stage_changed"]
    assert len(moves) == 1
    assert moves[0]["by"] == manager and moves[0]["data"]["trigger"]["id"] == trigger.body["id"]
    (entry,) = local.trigger_journal("deal", deal)
    assert entry["id"] == first.body["journal_id"] and entry["outcome"] == "moved"
    assert [(v["rule_id"], v["verdict"]) for v in entry["verdicts"]] == [(trigger.body["id"], "moved")]
    # And an unknown deal is the caller's mistake: 404, nothing journaled
    assert execute(local, "e2e_paid", "DEAL_999999", "e2e-payment-2").status == 404
    assert local.call("GET", "/journal?source=app").body["entries"] == []
