"""``--persist DIR``: a restarted runtime has the data, the demo key and the clock of the last run,
and restoring the data does not replay it as news through the stream."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from infra.runtime import Options
from tests.e2e.harness import eventually, http, running

pytestmark = pytest.mark.e2e


def stage_entries(queue: dict, kind: str | None = None) -> set[str]:
    """The ids of the stage entries (``StageChanged``, ``ItemCreated``) waiting in or delivered
    from the planner's queue."""
    bodies = [json.loads(body) for body in queue["waiting"] + queue["delivered"]]
    return {b["detail"]["event_id"] for b in bodies if kind is None or b["detail-type"] == kind}


def test_state_survives_a_restart(tmp_path: Path) -> None:
    persist, demo_file = tmp_path / "state", tmp_path / "demo.json"
    options = Options(api_port=0, smtp_port=0, persist=persist, demo_file=demo_file)

    # Given a first run with its demo tenant, one more deal, and the clock moved on
    with running(options) as first:
        demo = json.loads(demo_file.read_text())
        auth = {"Authorization": f"Bearer {demo['api_key']}", "Content-Type": "application/json"}
        deal = http("POST", f"{first.api_url}/items/deal", {"title": "Kept across restarts"}, auth).body["id"]
        http("POST", f"{first.api_url}/items/deal/{deal}/stage", {"stage_id": "payment"}, auth)
        queue = f"{first.api_url}/_local/queues/StageChangedQueue"

        def both_moves() -> set[str] | None:  # the demo's own move and this one, seen by the planner
            moves = stage_entries(http("GET", queue).body, "StageChanged")
            return moves if len(moves) >= 2 else None

        eventually(both_moves)
        published = stage_entries(http("GET", queue).body)
        http("POST", f"{first.api_url}/_local/clock", {"advance": "PT1H"})

    # When the runtime starts again on the same folder
    with running(options) as second:
        again = json.loads(demo_file.read_text())
        auth["Authorization"] = f"Bearer {again['api_key']}"

        # Then the same key reads the same deal, the clock kept its offset, and nothing was replayed
        assert again["api_key"] == demo["api_key"]
        answer = http("GET", f"{second.api_url}/items/deal/{deal}", headers=auth)
        assert (answer.status, answer.body["stage_id"]) == (200, "payment")
        assert http("GET", f"{second.api_url}/_local/clock").body["offset_seconds"] >= 3600
        time.sleep(2)  # as long as a replay through stream and fan-out would take to show
        replayed = stage_entries(http("GET", f"{second.api_url}/_local/queues/StageChangedQueue").body)
        assert not replayed & published


def test_every_kind_of_attribute_value_survives_a_restart(tmp_path: Path) -> None:
    import boto3

    options = Options(api_port=0, smtp_port=0, persist=tmp_path / "state", demo=False, demo_file=None)
    item = {
        "pk": {"S": "persist#ITEM#kinds"},
        "sk": {"S": "ITEM"},
        "text": {"S": "Grüße"},
        "number": {"N": "12.50"},
        "blob": {"B": b"\x00\x89PNG"},
        "texts": {"SS": ["a", "b"]},
        "numbers": {"NS": ["1", "2.5"]},
        "blobs": {"BS": [b"\x01", b"\x02"]},
        "nested": {
            "M": {"blob": {"B": b"\xff"}, "list": {"L": [{"N": "1"}, {"BOOL": True}, {"NULL": True}]}}
        },
    }

    def table(runtime) -> tuple:
        client = boto3.client(
            "dynamodb",
            endpoint_url=runtime.moto.endpoint,
            region_name=runtime.stack.region,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        return client, runtime.stack.name("ItemsTable")

    with running(options) as first:
        client, name = table(first)
        client.put_item(TableName=name, Item=item)
        stored = client.get_item(TableName=name, Key={"pk": item["pk"], "sk": item["sk"]})["Item"]

    with running(options) as second:
        client, name = table(second)
        restored = client.get_item(TableName=name, Key={"pk": item["pk"], "sk": item["sk"]})["Item"]

    assert restored == stored
