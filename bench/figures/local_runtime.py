"""Stage moves per second through the local runtime, as ``make run`` serves them: HTTP on
loopback, the gateway, the authorizer (its answer cached, as API Gateway caches it), the API
function and moto, all in the runtime's one process, with the fan-out polling the stream meanwhile.

The runtime runs as ``python -m infra.runtime`` in a process of its own, one per table size, side
by side. A first run creates the demo tenant and saves its state (``--persist``); the filler deals
are added to a copy of that state (clones of a demo deal in the Sales pipeline's first stage),
which each measured runtime loads with batch writes through moto before its stream poller starts,
so the fan-out does not replay them. The sizes and the sequential and 8-way runs take turns over
four rounds; each figure is the median round. A move is ``POST /items/deal/{id}/stage`` with
``allow_backwards``, each deal going back and forth between "new" and "documents"; the 8-way run
gives each client its own deals (as many users moving their own deals would).

Unlike the other figures these are rates, not ratios: the issue's floor is 50 moves a second, and
flat (the large table's rate at least 0.8 of the small one's).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.registry import Measured, Run, figure

ROOT = Path(__file__).resolve().parents[2]
SIZES = {"small": 100, "large": 10_000}
QUICK_SIZES = {"small": 100, "large": 1_000}
MOVES = 320  # per table size and number of clients, over the rounds
QUICK_MOVES = 64
ROUNDS = 4
WAYS = 8
STAGES = ("new", "documents")
FLOOR = 50  # moves per second
FLAT = 0.8  # the large table's rate over the small one's
START_TIMEOUT = 300  # seconds: loading 10,000 deals takes a while on 2 cores


class LocalRuntime:
    """``python -m infra.runtime`` in a process of its own, keeping its state in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        demo_file = directory / "demo.json"
        demo_file.unlink(missing_ok=True)
        self.log = (directory / "runtime.log").open("w")
        command = [sys.executable, "-m", "infra.runtime", "--port", "0", "--smtp-port", "0"]
        command += ["--persist", str(directory), "--demo-file", str(demo_file)]
        environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
        started = time.monotonic()
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=self.log
        )
        # The runtime writes the demo file last, once it serves.
        while (demo := _json(demo_file)) is None:
            if self.process.poll() is not None or time.monotonic() - started > START_TIMEOUT:
                self.stop()
                raise RuntimeError(f"the local runtime did not start: see {directory / 'runtime.log'}")
            time.sleep(0.1)
        self.started_in = time.monotonic() - started
        self.demo: dict[str, Any] = demo

    def stop(self) -> float:
        """Ctrl-C, as a user stops it; the seconds until the process is gone."""
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=120)
        self.log.close()
        return time.monotonic() - started


def _json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None  # not there yet, or being written


@dataclass
class Deals:
    """The filler deals of a runtime and the stage each one is in."""

    api_url: str
    api_key: str
    ids: list[str]
    stage: dict[str, str] = field(default_factory=dict)

    def move(self, deal: str) -> None:
        target = STAGES[1] if self.stage.get(deal, STAGES[0]) == STAGES[0] else STAGES[0]
        body = json.dumps({"stage_id": target, "allow_backwards": True}).encode()
        request = urllib.request.Request(
            f"{self.api_url}/items/deal/{deal}/stage",
            data=body,
            method="POST",
            headers={"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        if not answer.get("moved"):
            raise RuntimeError(f"deal {deal} was not moved to {target}: {answer}")
        self.stage[deal] = target

    def rate(self, moves: int, ways: int) -> float:
        """Moves per second, ``ways`` clients at once, each moving its own deals in turn."""
        own = []
        for way in range(ways):
            deals = self.ids[way::ways]
            own.append([deals[n % len(deals)] for n in range(moves // ways)])
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=ways) as pool:
            for done in [pool.submit(lambda deals: [self.move(d) for d in deals], deals) for deals in own]:
                done.result()
        return ways * (moves // ways) / (time.perf_counter() - started)


def _with_fillers(base: Path, directory: Path, count: int) -> list[str]:
    """A copy of the demo's saved state with ``count`` more deals; returns their ids."""
    state = json.loads((base / "state.json").read_text())
    table, template = next(
        (name, item)
        for name, items in state["tables"].items()
        for item in items
        if item.get("sk") == {"S": "ITEM"} and item.get("type") == {"S": "deal"}
    )
    tenant = template["tenant_id"]["S"]
    created = template["created_at"]["S"]
    ids = [str(100_000 + n) for n in range(count)]
    for deal in ids:
        clone = {key: value for key, value in template.items() if key != "last_move"}
        clone |= {
            "pk": {"S": f"{tenant}#ITEM#deal#{deal}"},
            "id": {"S": deal},
            "title": {"S": f"Filler deal {deal}"},
            "pipeline_id": {"S": "sales"},
            "pipeline_key": {"S": f"{tenant}#deal#sales"},
            "stage_id": {"S": STAGES[0]},
            "stage_key": {"S": f"{STAGES[0]}#{created}#{deal}"},
            "version": {"N": "1"},
        }
        state["tables"][table].append(clone)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "state.json").write_text(json.dumps(state))
    return ids


@dataclass(frozen=True)
class SizeRun:
    deals: int
    sequential: float
    eight_way: float
    started_in: float
    stopped_in: float


def stage_moves(run: Run) -> dict[str, SizeRun]:
    """Both sizes' runtimes run side by side and are measured in alternating rounds (the median
    round counts), so that a change in the machine's load does not pass for a cost of the size."""
    sizes = QUICK_SIZES if run.quick else SIZES
    moves = (QUICK_MOVES if run.quick else MOVES) // ROUNDS
    root = Path(tempfile.mkdtemp(prefix="bench-local-"))
    run.resources.callback(shutil.rmtree, root, ignore_errors=True)
    LocalRuntime(root / "base").stop()  # creates the demo tenant and saves it
    runtimes: dict[str, LocalRuntime] = {}
    try:
        deals = {}
        for label, count in sizes.items():
            ids = _with_fillers(root / "base", root / label, count)
            runtimes[label] = LocalRuntime(root / label)
            deals[label] = Deals(runtimes[label].demo["api_url"], runtimes[label].demo["api_key"], ids)
            for deal in ids[:WAYS]:  # warm: the authorizer's cache, the pipeline in the container
                deals[label].move(deal)
        rates: dict[tuple[str, int], list[float]] = {
            (label, ways): [] for label in sizes for ways in (1, WAYS)
        }
        for _ in range(ROUNDS):
            for label, ways in rates:
                rates[(label, ways)].append(deals[label].rate(moves, ways))
    finally:
        stopped = {label: runtime.stop() for label, runtime in runtimes.items()}
    return {
        label: SizeRun(
            count,
            statistics.median(rates[(label, 1)]),
            statistics.median(rates[(label, WAYS)]),
            runtimes[label].started_in,
            stopped[label],
        )
        for label, count in sizes.items()
    }


def _detail(result: SizeRun) -> dict[str, Any]:
    return {
        "deals_in_table": result.deals,
        "start_seconds": round(result.started_in, 2),
        "stop_seconds_with_persist": round(result.stopped_in, 2),
    }


@figure("local.stage_moves.sequential.small", unit="moves/s", budget=FLOOR, at_least=True)
def sequential_small(run: Run) -> Measured:
    """Stage moves per second through the local runtime's HTTP API, one client, 100 deals."""
    result = run.shared(stage_moves)["small"]
    return Measured(result.sequential, _detail(result))


@figure("local.stage_moves.8_way.small", unit="moves/s", budget=FLOOR, at_least=True)
def eight_way_small(run: Run) -> Measured:
    """Stage moves per second through the local runtime's HTTP API, 8 clients at once, 100 deals."""
    result = run.shared(stage_moves)["small"]
    return Measured(result.eight_way, _detail(result))


@figure("local.stage_moves.sequential.large", unit="moves/s", budget=FLOOR, at_least=True)
def sequential_large(run: Run) -> Measured:
    """Stage moves per second, one client, 10,000 deals in the table (1,000 with --quick)."""
    result = run.shared(stage_moves)["large"]
    return Measured(result.sequential, _detail(result))


@figure("local.stage_moves.8_way.large", unit="moves/s", budget=FLOOR, at_least=True)
def eight_way_large(run: Run) -> Measured:
    """Stage moves per second, 8 clients at once, 10,000 deals in the table (1,000 with --quick)."""
    result = run.shared(stage_moves)["large"]
    return Measured(result.eight_way, _detail(result))


@figure("local.stage_moves.flat", unit="x small table", budget=FLAT, at_least=True)
def flat(run: Run) -> Measured:
    """The large table's stage-move rate over the small table's (the lower of sequential, 8-way)."""
    results = run.shared(stage_moves)
    small, large = results["small"], results["large"]
    ratios = {"sequential": large.sequential / small.sequential, "8_way": large.eight_way / small.eight_way}
    return Measured(min(ratios.values()), {key: round(value, 3) for key, value in ratios.items()})
