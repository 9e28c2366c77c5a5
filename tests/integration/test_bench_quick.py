"""The performance harness keeps working: a reduced run measures every figure (verdicts on budgets
are the harness's report, not a test's; only a figure that cannot be measured fails here)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_the_quick_benchmark_measures_every_figure(tmp_path):
    output = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(output.read_text())
    assert {"calls.stage_move.api.dynamodb", "calls.fanout.put_events_per_10_events"} <= set(figures)
    assert all(f["verdict"] != "error" for f in figures.values()), figures
    assert figures["calls.stage_move.api.dynamodb"]["value"] <= 2
