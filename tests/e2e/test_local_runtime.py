"""The acceptance of the local runtime, over HTTP and SMTP only: the demo tenant's key works, an
item moved through its pipeline produces StageChanged on the planner's queue (stream -> fan-out ->
bus -> rule -> queue), the clock moves, and inbound mail reaches the inbound-mail function."""

from __future__ import annotations

import json
import smtplib
from email.message import EmailMessage

import pytest

from tests.e2e.conftest import Local
from tests.e2e.harness import eventually

pytestmark = pytest.mark.e2e


def test_the_openapi_document_is_public(local: Local) -> None:
    answer = local.call("GET", "/openapi.json", key=None)

    assert answer.status == 200
    assert answer.body["openapi"].startswith("3.")


def test_the_management_api_wants_the_tenant_key(local: Local) -> None:
    assert local.call("GET", "/pipelines", key=None).status == 401
    assert local.call("GET", "/pipelines", key="crm_demo_00000000_" + "0" * 48).status == 401

    answer = local.call("GET", "/pipelines?item_type=deal")

    assert answer.status == 200
    assert "Won" in json.dumps(answer.body)


def test_an_unknown_route_is_answered_by_the_gateway(local: Local) -> None:
    answer = local.call("POST", "/openapi.json", key=None)

    assert answer.status == 403
    assert answer.body == {"message": "Missing Authentication Token"}


def test_a_stage_move_reaches_the_planner_queue_as_stage_changed(local: Local) -> None:
    # Given a new deal in the demo's sales pipeline
    created = local.call(
        "POST", "/items/deal", {"title": "Meeting-room table", "amount": 2300, "currency": "EUR"}
    )
    assert created.status == 201, created.body
    deal = created.body["id"]

    # When it is moved to "Awaiting payment"
    moved = local.call("POST", f"/items/deal/{deal}/stage", {"stage_id": "payment"})
    assert moved.status == 200, moved.body

    # Then StageChanged arrives on the queue the bus rule feeds
    def stage_changed() -> dict | None:
        queue = local.call("GET", "/_local/queues/StageChangedQueue", key=None).body
        for body in queue["waiting"] + queue["delivered"]:
            event = json.loads(body)
            if event["detail-type"] == "StageChanged" and event["detail"]["item_id"] == deal:
                return event
        return None

    event = eventually(stage_changed)
    assert event is not None, "no StageChanged event for the moved deal"
    assert event["source"] == "crm.items"
    assert event["detail"]["to_stage"] == "payment"
    assert event["detail"]["tenant_id"] == local.demo["tenant_id"]
    timeline = local.call("GET", f"/items/deal/{deal}/timeline")
    assert timeline.status == 200


def test_the_clock_moves_forward_on_request(local: Local) -> None:
    before = local.call("GET", "/_local/clock", key=None).body

    answer = local.call("POST", "/_local/clock", {"advance": "PT2H"}, key=None)

    assert answer.status == 200
    assert answer.body["offset_seconds"] == before["offset_seconds"] + 7200
    assert local.call("POST", "/_local/clock", {"advance": "2 hours"}, key=None).status == 400


def test_mail_to_the_tenant_mailbox_lands_on_the_senders_deal(local: Local) -> None:
    # Given the demo deal whose contact is buyer@northwind.example
    deal = local.demo["items"]["deal"]
    message = EmailMessage()
    message["From"] = "Northwind Buyer <buyer@northwind.example>"
    message["To"] = local.demo["mailbox"]
    message["Subject"] = "Delivery date for the chairs"
    message["Message-ID"] = "<e2e-chairs@northwind.example>"
    message.set_content("Hello, when can you deliver the chairs?")

    # When it is sent to the SMTP listener
    with smtplib.SMTP("127.0.0.1", local.smtp_port, timeout=30) as smtp:
        smtp.send_message(message)

    # Then the inbound-mail function got the SES receipt, read the raw message from S3 and
    # recorded it on the deal's timeline
    def received() -> dict | None:
        entries = local.call("GET", f"/items/deal/{deal}/timeline").body["entries"]
        return next((e for e in entries if e["kind"] == "email_received"), None)

    entry = eventually(received)
    assert entry is not None, "the mail was not recorded on the deal"
    assert entry["data"]["subject"] == "Delivery date for the chairs"
    assert entry["data"]["raw"].startswith("s3://")


def test_mail_for_an_address_no_rule_takes_is_refused(local: Local) -> None:
    with (
        smtplib.SMTP("127.0.0.1", local.smtp_port, timeout=30) as smtp,
        pytest.raises(smtplib.SMTPRecipientsRefused),
    ):
        smtp.sendmail("someone@example.org", ["nobody@elsewhere.example"], "Subject: hi\r\n\r\nhi")


def test_the_operator_command_creates_a_tenant_whose_key_works(local: Local) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    def create_tenant() -> subprocess.CompletedProcess:
        command = ["scripts/create_tenant.py", "--name", "Globex", "--id", "globex"]
        return subprocess.run(
            [sys.executable, *command, "--endpoint", local.demo["moto_endpoint"]],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    done = create_tenant()
    assert done.returncode == 0, done.stderr
    issued = json.loads(done.stdout)
    assert issued["tenant_id"] == "globex"
    assert local.call("GET", "/pipelines", key=issued["api_key"]).status == 200
    assert local.call("GET", "/pipelines", key=issued["api_key"]).body == []
    again = create_tenant()
    assert again.returncode != 0 and "exists already" in again.stderr
