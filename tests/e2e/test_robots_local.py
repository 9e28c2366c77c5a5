"""Robots through the local runtime, as the demo tenant's users meet them: each stage entry goes from
the items stream over the bus to the planner, immediate runs to the run queue and its runner,
delayed ones into the due index until the every-minute sweeper (ticked by the local clock) finds
them. Outcomes are read back over the API (stage, timeline, journal, tasks, notifications) and from
the local outbox and queues.

The demo's own robots (``infra/demo.py``) serve the lead scenarios; the others use robots set up on
a pipeline of their own, so that no other test's deals meet them."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from infra import aws
from infra.template import REGION
from tests.e2e.conftest import Local
from tests.e2e.harness import eventually, http

pytestmark = pytest.mark.e2e

PIPELINE = {
    "id": "robots_e2e",
    "item_type": "deal",
    "name": "Robots (e2e)",
    "stages": [
        {"id": "new", "name": "New"},
        {"id": "chain", "name": "Offer prepared"},
        {"id": "hook", "name": "Sent to the ERP"},
        {"id": "ping", "name": "Ping"},
        {"id": "pong", "name": "Pong"},
        {"id": "won", "name": "Won", "semantic": "success"},
    ],
}
# Runs take several hops (stream, bus, two queues): generous, though they take a second or so.
WAIT = 30.0


def advance(local: Local, duration: str) -> None:
    """The local clock moves on; the sweeper's every-minute schedule fires for each minute passed
    (a day: 1,440 sweeps, about a minute here), so the request waits that long."""
    answer = http("POST", f"{local.api_url}/_local/clock", {"advance": duration}, timeout=600)
    assert answer.status == 200, answer.body


def robot_runs(local: Local, item_type: str, item_id: str) -> list[dict[str, Any]]:
    """The item's journal entries of robot runs, oldest first."""
    answer = local.call("GET", f"/items/{item_type}/{item_id}/journal?limit=100")
    assert answer.status == 200, answer.body
    return [e for e in reversed(answer.body["entries"]) if e.get("kind") == "robot_run"]


def of_robot(local: Local, item_type: str, item_id: str, robot_id: str) -> list[dict[str, Any]]:
    return [e for e in robot_runs(local, item_type, item_id) if e["robot_id"] == robot_id]


def steps(local: Local, item_type: str, item_id: str, robot_id: str) -> list[tuple[int, str]]:
    """(attempt, state) of each journaled step of the robot's runs on the item."""
    return [(e["attempt"], e["state"]) for e in of_robot(local, item_type, item_id, robot_id)]


def reached(local: Local, item_type: str, item_id: str, robot_id: str, state: str) -> list[dict]:
    """The journal's entries of the robot in ``state``, once there are any (within WAIT)."""

    def found() -> list[dict]:
        return [e for e in of_robot(local, item_type, item_id, robot_id) if e["state"] == state]

    entries = eventually(found, timeout=WAIT)
    runs = robot_runs(local, item_type, item_id)
    assert entries, (robot_id, state, [(e["robot_id"], e["state"], e["error"]) for e in runs])
    return entries


def demo_robot(local: Local, item_type: str, pipeline_id: str, type_code: str) -> str:
    robots = local.call("GET", f"/automation/{item_type}/{pipeline_id}").body["robots"]
    (robot,) = [r for r in robots if r["type_code"] == type_code]
    return robot["id"]


def timeline(local: Local, item_type: str, item_id: str) -> list[dict]:
    return local.call("GET", f"/items/{item_type}/{item_id}/timeline").body["entries"]


def mail_to(local: Local, address: str) -> list[dict]:
    messages = local.call("GET", "/_local/outbox", key=None).body["messages"]
    return [m for m in messages if m["channel"] == "email" and address in m["to"]]


def notifications_about(local: Local, employee_id: str, item: dict) -> list[dict]:
    found = local.call("GET", f"/notifications?employee_id={employee_id}&limit=100").body["notifications"]
    return [n for n in found if n["item"] == {"type": item["type"], "id": item["id"]}]


def new_lead(local: Local, title: str, email: str) -> dict:
    body = {
        "title": title,
        "pipeline_id": "leads",
        "responsible_id": local.demo["employees"]["rep_anna"],
        "emails": [email],
    }
    created = local.call("POST", "/items/lead", body)
    assert created.status == 201, created.body
    return created.body


@pytest.fixture(scope="module")
def pipeline(local: Local) -> str:
    created = local.call("POST", "/pipelines", PIPELINE)
    assert created.status == 201, created.body
    return PIPELINE["id"]


def add_robot(local: Local, stage_id: str, type_code: str, params: dict, **settings: Any) -> str:
    body = {"type_code": type_code, "stage_id": stage_id, "params": params, **settings}
    created = local.call("POST", f"/automation/deal/{PIPELINE['id']}/robots", body)
    assert created.status == 201, created.body
    return created.body["id"]


def new_deal(local: Local, title: str) -> dict:
    ivan = local.demo["employees"]["rep_ivan"]
    body = {"title": title, "pipeline_id": PIPELINE["id"], "responsible_id": ivan}
    created = local.call("POST", "/items/deal", body)
    assert created.status == 201, created.body
    return created.body


def move(local: Local, item: dict, stage_id: str) -> None:
    moved = local.call("POST", f"/items/{item['type']}/{item['id']}/stage", {"stage_id": stage_id})
    assert moved.status == 200, moved.body


# ---------------------------------------------------------------- the demo's leads


def test_a_lead_left_unprocessed_a_day_is_reported_to_the_supervisor_and_one_taken_on_is_not(
    local: Local,
) -> None:
    anna, manager = local.demo["employees"]["rep_anna"], local.demo["employees"]["manager"]
    control = demo_robot(local, "lead", "leads", "control")
    call_task = demo_robot(local, "lead", "leads", "create_task")
    # Given two new leads of Anna's in "Unprocessed": each gets its "call the new lead" task at once
    # and a control run due a day later
    left = new_lead(local, "Enquiry: 30 office chairs", "chairs@left-alone.example")
    taken = new_lead(local, "Enquiry: a reception desk", "desk@taken-on.example")
    for lead in (left, taken):
        reached(local, "lead", lead["id"], call_task, "done")
        (planned,) = reached(local, "lead", lead["id"], control, "delayed")
        assert planned["due_at"] is not None
    (task,) = local.call("GET", f"/items/lead/{left['id']}/tasks").body["tasks"]
    assert (task["title"], task["assignee_id"], task["priority"]) == (
        "Call the new lead: Enquiry: 30 office chairs",
        anna,
        "high",
    )

    # When Anna takes the second one on before the day is out, and the day passes
    move(local, taken, "in_progress")
    (cancelled,) = reached(local, "lead", taken["id"], control, "cancelled")
    advance(local, "PT24H")

    # Then the supervisor is told about the lead left alone, which stays where it was
    (done,) = reached(local, "lead", left["id"], control, "done")
    assert done["outputs"] == {"notified": [manager], "to_supervisor": True}
    (told,) = notifications_about(local, manager, left)
    assert told["text"] == (
        "Enquiry: 30 office chairs is still unprocessed after a day: Anna Petrova has not taken it on yet."
    )
    assert told["created_by"] == f"robot:{control}" and told["unread"] is True
    assert local.call("GET", f"/items/lead/{left['id']}").body["stage_id"] == "unprocessed"
    # And the lead taken on told nobody: its control run was cancelled when it left the stage
    assert cancelled["note"] == "the item left the stage"
    assert steps(local, "lead", taken["id"], control) == [(0, "delayed"), (0, "cancelled")]
    assert [n for e in (anna, manager) for n in notifications_about(local, e, taken)] == []


def test_a_duplicate_delivery_of_a_run_sends_no_second_mail(local: Local) -> None:
    # Given a lead taken on: the demo's "In progress" robot thanks the client by mail
    client = "olivia@duplicate-delivery.example"
    lead = new_lead(local, "Enquiry: meeting-room chairs", client)
    thank = demo_robot(local, "lead", "leads", "send_email")
    move(local, lead, "in_progress")
    (done,) = reached(local, "lead", lead["id"], thank, "done")
    (mail,) = eventually(lambda: mail_to(local, client), timeout=WAIT)
    assert mail["subject"] == "Enquiry: meeting-room chairs: thank you for your enquiry"
    assert "Anna Petrova looks after your enquiry" in mail["body"]

    # When SQS delivers the run's message again (at least once: the same body, sent anew)
    queue = local.call("GET", "/_local/queues/RobotRunsQueue", key=None).body
    (message,) = [
        body
        for body in queue["delivered"]
        if json.loads(body)["id"] == done["run_id"] and json.loads(body)["attempt"] == 0
    ]
    sqs = aws.client("sqs", local.demo["moto_endpoint"], REGION)
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="RobotRunsQueue")["QueueUrl"], MessageBody=message)

    # Then the runner takes it (and deletes it), and the client still has one mail
    def handled() -> bool:
        queue = local.call("GET", "/_local/queues/RobotRunsQueue", key=None).body
        return queue["delivered"].count(message) == 2 and message not in queue["waiting"]

    assert eventually(handled, timeout=WAIT)
    assert len(mail_to(local, client)) == 1
    assert steps(local, "lead", lead["id"], thank) == [(0, "queued"), (1, "done")]
    sent = [e for e in timeline(local, "lead", lead["id"]) if e["kind"] == "email_sent"]
    assert len(sent) == 1


# ---------------------------------------------------------------- robots of a pipeline of their own


def test_a_sequential_chain_passes_a_robots_outputs_to_the_next(local: Local, pipeline: str) -> None:
    # Given a task robot and, after it, a comment robot that names the task it made
    task_robot = add_robot(
        local,
        "chain",
        "create_task",
        {"title": "Send the offer for {{ item.title }}", "deadline": {"offset": 1, "unit": "days"}},
    )
    comment_robot = add_robot(
        local,
        "chain",
        "add_comment",
        {"text": f"Task {{{{ robots.{task_robot}.task_id }}}} is set for the offer."},
        after_previous=True,
    )
    deal = new_deal(local, "Conference chairs x60")

    # When the deal enters the stage
    move(local, deal, "chain")

    # Then the comment carries the id of the task the robot before it made
    (made,) = reached(local, "deal", deal["id"], task_robot, "done")
    assert len(reached(local, "deal", deal["id"], comment_robot, "done")) == 1
    (task,) = local.call("GET", f"/items/deal/{deal['id']}/tasks").body["tasks"]
    assert made["outputs"] == {"task_id": task["id"]}
    assert task["title"] == "Send the offer for Conference chairs x60"
    comments = [e["data"]["text"] for e in timeline(local, "deal", deal["id"]) if e["kind"] == "comment"]
    assert comments == [f"Task {task['id']} is set for the offer."]
    # And the journal shows the second waiting for the first, then running after it
    assert steps(local, "deal", deal["id"], comment_robot) == [(0, "waiting"), (1, "done")]


class Receiver:
    """Another system's endpoint on this machine: it answers 503 twice, then 200 with an order id,
    and keeps every request it got (headers, body) and its answer."""

    def __init__(self, answers: list[int]) -> None:
        self.answers = answers
        self.got: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.answers[min(len(receiver.got), len(receiver.answers) - 1)]
                receiver.got.append((dict(self.headers), body, status))
                answer = json.dumps({"order_id": "SO-1001"} if status == 200 else {"error": "busy"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/crm/orders"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def erp() -> Iterator[Receiver]:
    with Receiver([503, 503, 200]) as receiver:
        yield receiver


def test_a_webhook_that_fails_twice_then_succeeds_has_its_effect_once(
    local: Local, pipeline: str, erp: Receiver
) -> None:
    # Given the tenant's signing secret and a webhook robot to the ERP, retried twice, and a comment
    # robot after it that records the ERP's order
    secret = "whsec_e2e_0123456789abcdef"
    assert local.call("PUT", "/automation/secrets/erp", {"value": secret}).status == 200
    hook = add_robot(
        local,
        "hook",
        "outgoing_webhook",
        {"url": erp.url, "secret_ref": "erp", "fields_from_answer": ["order_id"]},
        retry={"attempts": 2, "backoff_seconds": 1},
    )
    note = add_robot(
        local,
        "hook",
        "add_comment",
        {"text": f"ERP order {{{{ robots.{hook}.order_id }}}}"},
        after_previous=True,
    )
    deal = new_deal(local, "Archive shelves x8")

    # When the deal enters the stage, and the clock passes each backoff (the sweeper requeues the run)
    move(local, deal, "hook")
    reached(local, "deal", deal["id"], hook, "delayed")
    advance(local, "PT2M")
    eventually(lambda: len(erp.got) == 2 and steps(local, "deal", deal["id"], hook)[-1][0] == 2, timeout=WAIT)
    advance(local, "PT2M")
    (done,) = reached(local, "deal", deal["id"], hook, "done")

    # Then the ERP got one request per attempt, the same signed body under the same key each time,
    # and answered the third
    assert [status for _, _, status in erp.got] == [503, 503, 200]
    bodies = {body for _, body, _ in erp.got}
    assert len(bodies) == 1 and json.loads(bodies.pop())["item"]["title"] == "Archive shelves x8"
    assert len({headers["X-Idempotency-Key"] for headers, _, _ in erp.got}) == 1
    for headers, body, _ in erp.got:
        stamp, mac = (part.split("=", 1)[1] for part in headers["X-Crm-Signature"].split(","))
        expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(mac, expected)
    # And the journal shows two failed attempts, then the one that succeeded, with its outputs
    journaled = [(e["attempt"], e["state"], e["error"]) for e in of_robot(local, "deal", deal["id"], hook)]
    failure = "127.0.0.1 answered 503"
    assert journaled == [
        (0, "queued", None),
        (1, "delayed", failure),
        (2, "delayed", failure),
        (3, "done", None),
    ]
    assert done["outputs"] == {"status": 200, "order_id": "SO-1001"}
    # And what came after it happened once
    reached(local, "deal", deal["id"], note, "done")
    comments = [e["data"]["text"] for e in timeline(local, "deal", deal["id"]) if e["kind"] == "comment"]
    assert comments == ["ERP order SO-1001"]


def test_a_loop_between_two_robots_stops_at_the_chain_bound(local: Local, pipeline: str) -> None:
    # Given two stages whose robots move the item to each other, every time it comes back
    to_pong = add_robot(local, "ping", "change_stage", {"stage_id": "pong"}, allow_repeat=True)
    to_ping = add_robot(local, "pong", "change_stage", {"stage_id": "ping"}, allow_repeat=True)
    deal = new_deal(local, "Ping-pong table")

    # When the deal enters one of them
    move(local, deal, "ping")

    # Then the robots move it back and forth until the chain is too deep, and that move is refused
    def refused() -> list[dict]:
        return [e for e in robot_runs(local, "deal", deal["id"]) if e["state"] == "failed"]

    (stopped,) = eventually(refused, timeout=WAIT)
    assert stopped["robot_id"] in (to_pong, to_ping)
    assert "chain_too_deep" in stopped["error"] and len(stopped["chain"]) == 8
    entries = timeline(local, "deal", deal["id"])
    (refusal,) = [e for e in entries if e["kind"] == "move_refused"]
    assert refusal["data"]["reason"] == "chain_too_deep"
    moves = [e for e in entries if e["kind"] == "stage_changed"]
    assert len(moves) == 1 + 8  # the person's move, then the robots' up to the bound
    current = local.call("GET", f"/items/deal/{deal['id']}").body["stage_id"]
    assert current == stopped["stage_id"]  # it stays where the refused robot ran
    done = [e for e in robot_runs(local, "deal", deal["id"]) if e["state"] == "done"]
    assert len(done) == 8
    # And the failed run went to the run queue's dead-letter queue, for an operator to look at
    dead = local.call("GET", "/_local/queues/RobotRunsDLQ", key=None).body
    assert any(json.loads(body)["id"] == stopped["run_id"] for body in dead["waiting"])
