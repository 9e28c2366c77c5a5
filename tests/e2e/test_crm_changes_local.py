"""CRM changes as a trigger source through the local runtime, over the whole hop: a deal's amount
raised through the API -> items stream -> fan-out -> the bus -> ItemUpdatedRule -> CrmChangesQueue
-> IngestCrmChangesFunction. The demo's *field value changed* trigger ("Large order: amount above
10,000") moves the deal to "Preparing documents"; the timeline and the journal say why; a
redelivered event and a malformed one change nothing."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.e2e.conftest import Local
from tests.e2e.harness import eventually

pytestmark = pytest.mark.e2e

QUEUE = "CrmChangesQueue"


def bus(local: Local):
    events = boto3.client(
        "events",
        endpoint_url=local.demo["moto_endpoint"],
        region_name="eu-west-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    (name,) = [b["Name"] for b in events.list_event_buses()["EventBuses"] if b["Name"] != "default"]
    return events, name


def put(local: Local, detail: dict) -> None:
    events, name = bus(local)
    entry = {
        "Source": "crm.items",
        "DetailType": "ItemUpdated",
        "Detail": json.dumps(detail),
        "EventBusName": name,
    }
    assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0


def test_raising_a_deals_amount_above_10000_moves_it_to_preparing_documents(local: Local) -> None:
    # Given a deal of Anna's at 5,000 in "New", and the demo's trigger on "Preparing documents"
    anna, manager = local.demo["employees"]["rep_anna"], local.demo["employees"]["manager"]
    (rule,) = [
        r
        for r in local.call("GET", "/automation/deal/sales").body["triggers"]
        if r["type_code"] == "field_changed"
    ]
    body = {"title": "Conference tables", "pipeline_id": "sales", "amount": 5000, "responsible_id": anna}
    deal = local.call("POST", "/items/deal", body).body["id"]

    # When the manager raises the amount to 15,000
    patched = local.call("PATCH", f"/items/deal/{deal}", {"amount": 15000, "by": manager})
    assert patched.status == 200, patched.body

    # Then the deal moves to "Preparing documents", by the trigger, as Anna's move
    def stage() -> str:
        return local.call("GET", f"/items/deal/{deal}").body["stage_id"]

    assert eventually(lambda: stage() == "documents", timeout=20), stage()
    timeline = local.call("GET", f"/items/deal/{deal}/timeline").body["entries"]
    (move,) = [e for e in timeline if e["kind"] == "stage_changed"]
    assert move["by"] == anna
    assert move["data"]["trigger"] == {"id": rule["id"], "name": "Large order: amount above 10,000"}
    (entry,) = local.trigger_journal("deal", deal)
    assert entry["outcome"] == "moved" and entry["event"]["source"] == "crm_changes"
    assert [(v["rule_id"], v["verdict"]) for v in entry["verdicts"]] == [(rule["id"], "moved")]

    # When the update is delivered again (a new envelope, the same event), and a malformed
    # ItemUpdated arrives, and then the deal is renamed
    (delivered,) = [
        json.loads(body)["detail"]
        for body in local.call("GET", f"/_local/queues/{QUEUE}", key=None).body["delivered"]
        if json.loads(body)["detail"].get("item_id") == deal
    ]
    put(local, delivered)
    put(local, {"event_id": "broken", "tenant_id": "demo", "item_type": "deal", "item_id": deal})
    local.call("PATCH", f"/items/deal/{deal}", {"title": "Conference tables x4", "by": manager})

    # Then only the rename is journaled (no watch fires on it), the deal moved once, and the
    # malformed message stays in the queue for its retries and then the dead-letter queue
    def journal() -> list[dict]:
        return local.trigger_journal("deal", deal)

    assert eventually(lambda: len(journal()) == 2, timeout=20), journal()
    renamed, first = journal()
    assert first["id"] == entry["id"]
    assert renamed["event"]["data"]["changes"] == {
        "title": {"old": "Conference tables", "new": "Conference tables x4"}
    }
    assert [v["verdict"] for v in renamed["verdicts"]] == ["params_mismatch"]
    timeline = local.call("GET", f"/items/deal/{deal}/timeline").body["entries"]
    assert len([e for e in timeline if e["kind"] == "stage_changed"]) == 1 and stage() == "documents"
    waiting = local.call("GET", f"/_local/queues/{QUEUE}", key=None).body["waiting"]
    assert any(json.loads(body)["detail"].get("event_id") == "broken" for body in waiting)
