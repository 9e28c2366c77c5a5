"""The demo's "Contact us" form through the local runtime over HTTP, as a site's script posts it: a
new enquirer's lead is created in "Unprocessed" and the form's trigger qualifies it, recorded as the
lead's responsible; the timeline and journal say which trigger and why, the answer only the
submission's id; a retried post, a bot's post (answered alike), a post from a foreign origin and a
malformed one change nothing."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Local
from tests.e2e.harness import http

pytestmark = pytest.mark.e2e


def submit(local: Local, values, **headers):
    url = f"{local.api_url}/forms/{local.demo['forms']['contact_us']}"
    return http("POST", url, values, {"Content-Type": "application/json", **headers})


def leads_of(local: Local, email: str) -> list[str]:
    leads = local.call("GET", "/items/lead?pipeline_id=leads&limit=100").body["items"]
    return [i["id"] for i in leads if email in i["emails"]]


def test_the_contact_form_creates_a_lead_and_its_trigger_qualifies_it(local: Local) -> None:
    form_id = local.demo["forms"]["contact_us"]
    values = {"name": "Jane Roe", "email": "jane.e2e@example.org", "_nonce": "e2e-page-view-000001"}
    first = submit(local, values)
    # The sender is told the submission's id, nothing of what it did
    assert first.status == 201 and first.body == {"submission_id": f"{form_id}.n.e2e-page-view-000001"}
    (lead,) = leads_of(local, "jane.e2e@example.org")

    # Then the lead is qualified, by the form's trigger, recorded as its responsible (Anna)
    item = local.call("GET", f"/items/lead/{lead}").body
    anna = local.demo["employees"]["rep_anna"]
    assert (item["stage_id"], item["responsible_id"], item["emails"]) == (
        "qualified",
        anna,
        ["jane.e2e@example.org"],
    )
    entries = local.call("GET", f"/items/lead/{lead}/timeline").body["entries"]
    (move,) = [e for e in entries if e["kind"] == "stage_changed"]
    assert move["by"] == anna and move["data"]["trigger"]["name"] == "Contact form filled"
    (entry,) = local.trigger_journal("lead", lead)
    assert entry["outcome"] == "moved" and entry["event"]["source"] == "webform"
    assert entry["event"]["event_id"] == first.body["submission_id"]
    assert [(v["rule_name"], v["verdict"]) for v in entry["verdicts"]] == [("Contact form filled", "moved")]

    # And a retry of the same page's post, a foreign origin and a malformed post change nothing
    assert submit(local, values).body == first.body
    # A bot filling the honeypot is answered as a person is; it is only journaled for the tenant
    bot = {"name": "Bot", "email": "bot.e2e@example.org", "website_url": "http://spam.example"}
    caught = submit(local, {**bot, "_nonce": "e2e-page-view-000003"})
    assert caught.status == 201 and caught.body == {"submission_id": f"{form_id}.n.e2e-page-view-000003"}
    (trace,) = [
        e
        for e in local.call("GET", "/journal?source=webform&limit=100").body["entries"]
        if e["event"]["event_id"] == caught.body["submission_id"]
    ]
    assert trace["outcome"] == "no_item" and "honeypot" in trace["note"]
    assert leads_of(local, "bot.e2e@example.org") == []
    assert (
        submit(local, {**values, "_nonce": "e2e-page-view-000002"}, Origin="https://evil.example").status
        == 403
    )
    assert submit(local, {"name": "No email"}).status == 400
    assert (
        http(
            "POST",
            f"{local.api_url}/forms/{form_id}",
            b"{",
            {"Content-Type": "application/json"},
        ).status
        == 400
    )
    assert leads_of(local, "jane.e2e@example.org") == [lead]
    assert len(local.trigger_journal("lead", lead)) == 1
    sent = local.call("GET", f"/automation/forms/{form_id}/submissions?limit=100").body["entries"]
    assert [s["event_id"] for s in sent].count(first.body["submission_id"]) == 1
    assert [s["values"]["email"] for s in sent].count("bot.e2e@example.org") == 0
