"""App triggers end to end through API Gateway's shapes: register a code, put a trigger naming it on
"Awaiting payment", fire it for DEAL_n; the deal moves, the timeline says which trigger and who, the
journal says why every candidate did or did not fire; a retry changes nothing."""

from __future__ import annotations

import pytest

from tests.integration.test_management_api import api as api
from tests.integration.test_management_api import call, new_deal
from tests.integration.test_management_api import sales as sales

PAID = {"code": "invoice_paid", "name": "Invoice paid"}


@pytest.fixture
def paid(api, sales):
    """The code registered; on "Awaiting payment" a trigger for big deals only (run as Anna), and
    on "Preparing documents" one for every deal."""
    assert call(api, "POST", "/automation/app-triggers", PAID).status == 201
    big = {
        "type_code": "app_trigger",
        "stage_id": "awaiting_payment",
        "name": "Paid, big deal",
        "params": {"code": "invoice_paid"},
        "condition": {"field": "amount", "op": ">=", "value": 1000},
        "run_as": "anna",
    }
    any_deal = {
        "type_code": "app_trigger",
        "stage_id": "preparing_documents",
        "name": "Paid, any deal",
        "params": {"code": "invoice_paid"},
    }
    rules = {}
    for rule in (big, any_deal):
        answer = call(api, "POST", "/automation/deal/sales/triggers", rule)
        assert answer.status == 201, answer.body
        rules[rule["name"]] = answer.body["id"]
    return rules


def execute(api, code, body, key="pay-1"):
    headers = {"Idempotency-Key": key} if key else {}
    return api.call("POST", f"/automation/app-triggers/{code}/execute", body, api.key, headers)


def test_codes_are_registered_listed_and_refused_twice(api):
    assert call(api, "POST", "/automation/app-triggers", PAID).status == 201
    again = call(api, "POST", "/automation/app-triggers", PAID)
    assert again.status == 409
    listed = call(api, "GET", "/automation/app-triggers").body
    assert [(a["code"], a["name"]) for a in listed] == [("invoice_paid", "Invoice paid")]
    assert call(api, "GET", "/automation/app-triggers/invoice_paid").body == listed[0]
    assert call(api, "GET", "/automation/app-triggers/nobody").status == 404
    assert call(api, "POST", "/automation/app-triggers", {"code": "bad code", "name": "x"}).status == 422
    # Another tenant sees none of them
    assert api.call("GET", "/automation/app-triggers", key=api.other_key).body == []


def test_a_trigger_naming_an_unregistered_code_is_refused(api, sales):
    rule = {"type_code": "app_trigger", "stage_id": "won", "params": {"code": "nobody_registered"}}
    answer = call(api, "POST", "/automation/deal/sales/triggers", rule)
    assert answer.status == 422
    assert "not registered" in answer.body["message"]
    assert call(api, "GET", "/automation/deal/sales").body["triggers"] == []


def test_firing_moves_the_deal_to_the_earliest_stage_whose_trigger_applies(api, paid):
    deal = new_deal(api, amount=2500, responsible_id="anna")

    answer = execute(api, "invoice_paid", {"target": f"DEAL_{deal['id']}"})

    assert answer.status == 200, answer.body
    fired = answer.body
    # "Preparing documents" comes first in stage order, and its trigger has no condition
    assert fired["moved"] is True and fired["outcome"] == "moved"
    assert (fired["from_stage"], fired["stage_id"]) == ("new", "preparing_documents")
    assert fired["rule_id"] == paid["Paid, any deal"] and fired["rule_name"] == "Paid, any deal"
    assert fired["run_as"] == "anna"  # the deal's responsible: the rule names no one
    assert call(api, "GET", f"/items/deal/{deal['id']}").body["stage_id"] == "preparing_documents"


def test_the_timeline_names_the_trigger_and_the_run_as_employee(api, paid):
    deal = new_deal(api, amount=2500)
    # Given the deal past "Preparing documents", the big-deal trigger is the one in reach
    call(api, "POST", f"/items/deal/{deal['id']}/stage", {"stage_id": "preparing_documents"})

    fired = execute(api, "invoice_paid", {"target": {"type": "deal", "id": deal["id"]}}).body

    assert fired["stage_id"] == "awaiting_payment" and fired["run_as"] == "anna"
    entry = call(api, "GET", f"/items/deal/{deal['id']}/timeline").body["entries"][0]
    assert entry["kind"] == "stage_changed" and entry["by"] == "anna"
    assert entry["data"]["to"] == "awaiting_payment"
    assert entry["data"]["trigger"] == {"id": paid["Paid, big deal"], "name": "Paid, big deal"}
    assert entry["data"]["event"] == {"type": "app_trigger", "source": "app", "id": "pay-1"}
    assert entry["data"]["cause"]["kind"] == "trigger"
    assert entry["data"]["journal_id"] == fired["journal_id"]


def test_the_journal_lists_every_verdict_with_the_values_compared(api, paid):
    deal = new_deal(api, amount=300)
    call(api, "POST", f"/items/deal/{deal['id']}/stage", {"stage_id": "preparing_documents"})

    fired = execute(api, "invoice_paid", {"target": f"DEAL_{deal['id']}"}).body

    assert fired["moved"] is False and fired["outcome"] == "not_moved"
    assert fired["stage_id"] == "preparing_documents"
    journal = call(api, "GET", f"/items/deal/{deal['id']}/journal").body["entries"]
    assert [e["id"] for e in journal] == [fired["journal_id"]]
    verdicts = {v["rule_name"]: v for v in journal[0]["verdicts"]}
    assert verdicts["Paid, any deal"]["verdict"] == "already_there"
    refused = verdicts["Paid, big deal"]
    assert refused["verdict"] == "condition_false"
    assert refused["compared"] == [
        {"field": "amount", "op": ">=", "value": 1000, "actual": 300, "held": False}
    ]
    assert journal[0]["event"]["event_id"] == "pay-1" and journal[0]["item"] == f"deal/{deal['id']}"


def test_an_item_already_past_the_stage_stays_and_is_journaled_stage_behind(api, paid):
    deal = new_deal(api, amount=5000)
    call(api, "POST", f"/items/deal/{deal['id']}/stage", {"stage_id": "won"})

    fired = execute(api, "invoice_paid", {"target": f"DEAL_{deal['id']}"}).body

    assert fired["moved"] is False
    assert call(api, "GET", f"/items/deal/{deal['id']}").body["stage_id"] == "won"
    (entry,) = call(api, "GET", f"/items/deal/{deal['id']}/journal").body["entries"]
    assert {v["verdict"] for v in entry["verdicts"]} == {"item_closed"}
    # An open deal past the stage: stage_behind
    other = new_deal(api, amount=5000)
    call(api, "POST", f"/items/deal/{other['id']}/stage", {"stage_id": "awaiting_payment"})
    execute(api, "invoice_paid", {"target": f"DEAL_{other['id']}"}, key="pay-2")
    (entry,) = call(api, "GET", f"/items/deal/{other['id']}/journal").body["entries"]
    verdicts = {v["rule_name"]: v["verdict"] for v in entry["verdicts"]}
    assert verdicts == {"Paid, any deal": "stage_behind", "Paid, big deal": "already_there"}


def test_a_retry_with_the_same_key_changes_nothing_and_gets_the_same_answer(api, paid):
    deal = new_deal(api, amount=2500)
    first = execute(api, "invoice_paid", {"target": f"DEAL_{deal['id']}"})
    # Someone moves the deal on; the application retries its request
    call(api, "POST", f"/items/deal/{deal['id']}/stage", {"stage_id": "new", "allow_backwards": True})
    timeline = call(api, "GET", f"/items/deal/{deal['id']}/timeline").body

    again = execute(api, "invoice_paid", {"target": f"DEAL_{deal['id']}"})

    assert again.status == 200 and again.body == first.body
    assert call(api, "GET", f"/items/deal/{deal['id']}").body["stage_id"] == "new"
    assert call(api, "GET", f"/items/deal/{deal['id']}/timeline").body == timeline
    assert len(call(api, "GET", f"/items/deal/{deal['id']}/journal").body["entries"]) == 1
    # The same happening named in the body is the same event
    assert (
        execute(api, "invoice_paid", {"target": f"DEAL_{deal['id']}", "event_id": "pay-1"}, None).body
        == first.body
    )
    # A new happening fires again
    assert execute(api, "invoice_paid", {"target": f"DEAL_{deal['id']}"}, key="pay-9").body["moved"] is True


def test_bad_executions_are_refused_and_change_nothing(api, paid):
    deal = new_deal(api, amount=2500)
    target = {"target": f"DEAL_{deal['id']}"}
    assert execute(api, "unknown_code", target).status == 404
    assert execute(api, "invoice_paid", {"target": "DEAL_999"}).status == 404
    assert execute(api, "invoice_paid", {"target": "TICKET_1"}).status == 404
    assert execute(api, "invoice_paid", {"target": "DEAL"}).status == 422
    no_key = execute(api, "invoice_paid", target, key=None)
    assert no_key.status == 422 and "Idempotency-Key" in no_key.body["message"]
    assert execute(api, "invoice_paid", {**target, "event_id": "a"}, key="b").status == 422
    assert execute(api, "invoice_paid", target, key="with space").status == 422
    assert call(api, "GET", f"/items/deal/{deal['id']}").body["stage_id"] == "new"
    assert call(api, "GET", f"/items/deal/{deal['id']}/journal").body["entries"] == []
    assert call(api, "GET", "/journal").body["entries"] == []
    # Another tenant's key cannot fire this tenant's code for this tenant's deal
    other = api.call(
        "POST",
        "/automation/app-triggers/invoice_paid/execute",
        target,
        api.other_key,
        {"Idempotency-Key": "x"},
    )
    assert other.status == 404


def test_the_pipeline_journal_filters_by_rule_outcome_and_time(api, paid):
    small, big = new_deal(api, amount=300), new_deal(api, amount=5000)
    for deal in (small, big):
        call(api, "POST", f"/items/deal/{deal['id']}/stage", {"stage_id": "preparing_documents"})
    execute(api, "invoice_paid", {"target": f"DEAL_{small['id']}"}, key="p-small")
    execute(api, "invoice_paid", {"target": f"DEAL_{big['id']}"}, key="p-big")
    path = "/automation/deal/sales/journal"

    every = call(api, "GET", path).body["entries"]
    assert [e["item"] for e in every] == [f"deal/{big['id']}", f"deal/{small['id']}"]  # newest first
    moved = call(api, "GET", f"{path}?outcome=moved").body["entries"]
    assert [e["item"] for e in moved] == [f"deal/{big['id']}"]
    by_rule = call(api, "GET", f"{path}?rule={paid['Paid, big deal']}&outcome=not_moved").body["entries"]
    assert [e["item"] for e in by_rule] == [f"deal/{small['id']}"]
    assert call(api, "GET", f"{path}?rule=nosuchrule").body["entries"] == []
    later = every[0]["at"].replace("+00:00", "Z")
    assert [e["item"] for e in call(api, "GET", f"{path}?since={later}").body["entries"]] == [
        f"deal/{big['id']}"
    ]
    assert call(api, "GET", f"{path}?since=2999-01-01T00:00:00").body["entries"] == []
    # paging
    first = call(api, "GET", f"{path}?limit=1").body
    second = call(api, "GET", f"{path}?limit=1&cursor={first['cursor']}").body
    assert [e["id"] for e in first["entries"] + second["entries"]] == [e["id"] for e in every]
    assert call(api, "GET", "/automation/deal/nosuch/journal").status == 404
    assert call(api, "GET", f"{path}?outcome=sideways").status == 422


def test_the_item_journal_is_open_to_items_keys_the_others_are_not(api, paid):
    deal = new_deal(api, amount=2500)
    execute(api, "invoice_paid", {"target": f"DEAL_{deal['id']}"})
    items_key = call(api, "POST", "/api-keys", {"name": "shop", "scope": "items"}).body["key"]
    assert api.call("GET", f"/items/deal/{deal['id']}/journal", key=items_key).status == 200
    assert api.call("GET", "/automation/deal/sales/journal", key=items_key).status == 403
    assert api.call("GET", "/journal", key=items_key).status == 403
    assert api.call("GET", f"/items/deal/{deal['id']}/journal", key=api.other_key).status == 404
    assert call(api, "GET", "/items/deal/999/journal").status == 404


def test_a_code_in_use_cannot_be_unregistered(api, paid):
    answer = call(api, "DELETE", "/automation/app-triggers/invoice_paid")
    assert answer.status == 409 and "Paid, big deal" in answer.body["message"]
    for rule_id in paid.values():
        assert call(api, "DELETE", f"/automation/deal/sales/triggers/{rule_id}").status == 204
    assert call(api, "DELETE", "/automation/app-triggers/invoice_paid").status == 204
    assert call(api, "DELETE", "/automation/app-triggers/invoice_paid").status == 404
    assert call(api, "GET", "/automation/app-triggers").body == []
