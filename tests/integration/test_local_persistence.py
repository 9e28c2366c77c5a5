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

        def both_moves() -> list[str] | None:  # the demo's own move and this one
            bodies = http("GET", queue).body["waiting"]
            return bodies if len(bodies) >= 2 else None

        waiting = eventually(both_moves)
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
        assert http("GET", f"{second.api_url}/_local/queues/StageChangedQueue").body["waiting"] == waiting
