"""Cold start: each function's import and init, then its first invocation, in a fresh process, as a
ratio to `import boto3`.

Both run in bench/.venv-runtime, a venv with only requirements.txt (no dev tools: aws-sam-cli would
bring awscrt into botocore's imports and slow boto3 down, flattering the ratio). It is made on first
use and remade when requirements.txt or constraints.txt change. Every sample is a new process with
the function's environment from template.yaml and the variables Lambda sets (as with Tracing:
Active, each invocation has a sampled trace id); samples of boto3 and of the handlers alternate,
and each figure is the ratio of medians. One warm-up round first writes the bytecode caches.

The first invocation runs against moto in server mode on loopback (``bench.backend``: the
template's resources, a tenant with a key, the Sales pipeline with its rules, deals): the API
answers an authorized GET of a deal, then moves it to the next stage (API Gateway's authorizer
context in the events); the authorizer authorizes one request; the fan-out publishes a stream
batch with a StageChanged record; the inbound-mail function records a new message (in S3) from
the contact of two deals. moto on loopback answers in about the time DynamoDB does inside a region,
and its own work runs in its process, not the probe's. The first invocations are where the lazy
work of a cold container lands (the first botocore client, powertools' idempotency its own): the
figure is import + first invocation, and each part has a figure of its own. A function of the
template without a scenario here is invoked with its sample events (events/<name>/*.json) and
judged only by raising nothing.

The floor is `import boto3`, one DynamoDB client and one GetItem against the same backend: what
any function whose first invocation calls DynamoDB costs at least. Each handler's detail says how
far above it it is (``over_the_floor``).

The detail also has one `python -X importtime` run per subject (its times include the option's
overhead): the packages with the most import time of their own, and the imports of the handler and
of its direct imports that take longest in all. That is where to look when a handler is over
budget. Every function of the template whose code is under functions/ gets its figures.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import ROOT, template
from bench.registry import Measured, Run, figure
from bench.world import REGION

RUNTIME = ROOT / "bench" / ".venv-runtime"
PROBE = ROOT / "bench" / "probe.py"
HANDLERS = tuple(template.functions())  # every function of the template, by its directory
# Issue 8's budgets for import + first invocation: the API 1.6x, every other function (the
# authorizer, the fan-out, every ingest and robot function to come) 1.2x.
BUDGETS = {"api": 1.6}
BUDGET = 1.2
FIRST_CALLS = {
    "api": "an authorized GET of a deal, then its stage move",
    "authorizer": "one authorization (GetItem-backed key check)",
    "fanout": "a stream batch with a StageChanged record",
    "inbound_mail": "an SES receipt event, the message in S3, from the contact of two deals",
    "ingest_hooks": "a webhook call naming its deal, which a webhook trigger moves",
    "ingest_webform": "a JSON submission from a deal's contact, which a form trigger moves",
    "ingest_tracking": "the open pixel of a mail sent about a deal, which an email-read trigger moves",
    "ingest_crm_changes": "an ItemUpdated batch: a deal's amount crossing a field-changed threshold",
}
RUNS, QUICK_RUNS = 15, 2
# The measures of a bare process: `import boto3`, and the floor (import boto3, one DynamoDB client,
# one GetItem), which no function whose first invocation calls DynamoDB can go below.
YARDSTICKS = ("boto3", "floor")
TOP = 8


def _digest() -> str:
    text = "".join((ROOT / n).read_text() for n in ("requirements.txt", "constraints.txt"))
    return hashlib.sha256(f"{sys.version}\n{text}".encode()).hexdigest()


def runtime_python(quick: bool) -> Path:
    """bench/.venv-runtime/bin/python, made (or remade) if its requirements changed. A quick run
    does not make it (that needs the package index): without it, it measures in this venv."""
    python, stamp = RUNTIME / "bin" / "python", RUNTIME / ".bench-installed"
    if python.exists() and stamp.exists() and stamp.read_text() == _digest():
        return python
    if quick:
        return Path(sys.executable)
    print(f"making {RUNTIME.relative_to(ROOT)} from requirements.txt ...", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(RUNTIME)], check=True)
    subprocess.run(
        [
            *(str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
            *("-r", str(ROOT / "requirements.txt"), "-c", str(ROOT / "constraints.txt")),
        ],
        check=True,
    )
    stamp.write_text(_digest())
    return python


def lambda_environment(subject: str, endpoint: str) -> dict[str, str]:
    """The function's variables from the template and what Lambda adds (boto3: the first's), with
    the SDK pointed at the bench's backend and no configuration file of this machine read."""
    name = HANDLERS[0] if subject in YARDSTICKS else subject
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{template.runtime(name)}",
        "AWS_LAMBDA_FUNCTION_NAME": f"crm-{name}",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(template.memory_mb(name)),
        "LAMBDA_TASK_ROOT": str(ROOT / "functions" / name),
        "_HANDLER": template.handler(name),
        **template.environment(name),
    }
    if template.tracing_active(name):
        env |= {"AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR", "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000"}
    return env


# ---------------------------------------------------------------- the backend and the events


@dataclass(frozen=True)
class Backend:
    endpoint: str
    events: dict[str, list[list[dict[str, Any]]]]  # per function, the first invocations of each sample


def backend(run: Run) -> Backend:
    """``bench.backend`` started for the run (stopped with it), with events for every sample."""
    samples = 1 + (QUICK_RUNS if run.quick else RUNS)  # the warm-up round, then the measured ones
    log = run.resources.enter_context(tempfile.TemporaryFile("w+"))  # noqa: SIM115  (closed with the run)
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.backend", str(samples)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )

    def stop() -> None:
        process.terminate()  # nothing to keep: moto's state dies with it
        process.wait()
        process.stdin.close()  # type: ignore[union-attr]
        process.stdout.close()  # type: ignore[union-attr]

    run.resources.callback(stop)
    line = process.stdout.readline()  # type: ignore[union-attr]
    if not line:
        process.wait()
        log.seek(0)
        raise RuntimeError(f"bench.backend exited with {process.returncode}:\n{log.read()[-3000:]}")
    answer = json.loads(line)
    events = answer["events"]
    for name in HANDLERS:
        if name not in events:  # a function without a scenario: its sample events, in every sample
            samples_of = sorted((ROOT / "events" / name).glob("*.json"))
            if not samples_of:
                raise RuntimeError(
                    f"no first invocation for functions/{name}: add a scenario to "
                    f"bench/backend.py or a sample event to events/{name}/"
                )
            first = [json.loads(path.read_text()) for path in samples_of]
            events[name] = [first] * samples
    events["floor"] = [[{"pk": "bench#floor", "sk": f"sample#{n}"}] for n in range(samples)]
    return Backend(answer["endpoint"], events)


def _accepted(name: str, answer: Any) -> bool:
    """Whether a first invocation did its work (the probe turns an exception into an error answer)."""
    if not isinstance(answer, dict) or "errorType" in answer:
        return False
    match name:
        case "api":
            return answer.get("statusCode", 500) < 300 and json.loads(answer["body"]).get("moved", True)
        case "authorizer":
            return answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        case "fanout":
            return answer.get("batchItemFailures") == []
        case "inbound_mail":
            return answer.get("recorded", 0) > 0
        case "ingest_hooks":
            return answer.get("statusCode") == 200 and json.loads(answer["body"]).get("moved", False)
        case "ingest_webform":
            # A sender learns the submission's id only, answered once the submission was applied
            # (what it moved is the tenant's to read: the calls figures check it through the API).
            return answer.get("statusCode") == 201 and set(json.loads(answer["body"])) == {"submission_id"}
        case "ingest_tracking":
            return answer.get("statusCode") == 200
        case "ingest_crm_changes":
            return answer.get("batchItemFailures") == []
        case "floor":
            return answer.get("statusCode") == 200
    return True


# ---------------------------------------------------------------- fresh processes


def _probe(
    python: Path, subject: str, endpoint: str, *flags: str, events: list[dict[str, Any]] | None = None
) -> subprocess.CompletedProcess[str]:
    with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
        args = [str(python), "-I", *flags, str(PROBE), subject, str(ROOT)]
        if events is not None:
            json.dump(events, file)
            file.flush()
            args.append(file.name)
        done = subprocess.run(
            args, env=lambda_environment(subject, endpoint), capture_output=True, text=True, timeout=300
        )
    if done.returncode:
        raise RuntimeError(f"probing {subject} in {python} failed:\n{done.stderr[-2000:]}")
    return done


@dataclass(frozen=True)
class Sample:
    import_ms: float
    calls_ms: list[float]  # the first invocations, in order

    @property
    def total_ms(self) -> float:
        return self.import_ms + sum(self.calls_ms)


def _sample(python: Path, subject: str, backend_: Backend, number: int) -> Sample:
    events = None if subject == "boto3" else backend_.events[subject][number]
    done = _probe(python, subject, backend_.endpoint, events=events)
    result = json.loads(done.stdout.rstrip().rpartition("\n")[2])
    for answer in result["answers"]:
        if not _accepted(subject, answer):
            raise RuntimeError(f"the first invocation of {subject} answered {answer}\n{done.stderr[-1500:]}")
    return Sample(result["import_ns"] / 1e6, [ns / 1e6 for ns in result["calls_ns"]])


def top_imports(python: Path, subject: str, endpoint: str) -> dict[str, dict[str, float]]:
    """From one `-X importtime` run: own import time (ms) by top-level package, and the modules
    imported by the subject or by its direct imports with the largest cumulative time."""
    own: dict[str, float] = defaultdict(float)
    cumulative: list[tuple[float, str]] = []
    for line in _probe(python, subject, endpoint, "-X", "importtime").stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip())) // 2
        own[name.strip().split(".")[0]] += int(self_us) / 1000
        if 1 <= depth <= 2:
            cumulative.append((int(cumulative_us) / 1000, name.strip()))
    by_package = sorted(own.items(), key=lambda kv: -kv[1])[:TOP]
    largest = sorted(cumulative, reverse=True)[:TOP]
    return {
        "own_ms_by_package": {package: round(ms, 1) for package, ms in by_package},
        "largest_imports_cumulative_ms": {module: round(ms, 1) for ms, module in largest},
    }


@dataclass(frozen=True)
class ColdStarts:
    python: Path
    samples: dict[str, list[Sample]]
    imports: dict[str, dict[str, dict[str, float]]]
    load_average: tuple[float, float] = (0.0, 0.0)  # the machine's, before and after: noise shows here

    def median(self, subject: str, part: Callable[[Sample], float] = lambda s: s.total_ms) -> float:
        return statistics.median(part(s) for s in self.samples[subject])

    def ratio(self, subject: str) -> float:
        return self.median(subject) / self.median("boto3")

    def ratio_of_minimums(self, subject: str) -> float:
        return min(s.total_ms for s in self.samples[subject]) / min(s.total_ms for s in self.samples["boto3"])

    def importtime(self, subject: str) -> dict[str, dict[str, float]] | str:
        return self.imports.get(subject, "left out of a quick run")

    @property
    def in_runtime_venv(self) -> bool:
        return self.python.is_relative_to(RUNTIME)


def cold_starts(run: Run) -> ColdStarts:
    python, backend_ = runtime_python(run.quick), run.shared(backend)
    load_before = os.getloadavg()[0]
    subjects = (*YARDSTICKS, *HANDLERS)
    if not run.quick:
        for subject in subjects:
            _sample(python, subject, backend_, 0)  # warm-up: bytecode caches, page cache
    samples: dict[str, list[Sample]] = {s: [] for s in subjects}
    for n in range(QUICK_RUNS if run.quick else RUNS):
        turn = n % len(subjects)
        for subject in subjects[turn:] + subjects[:turn]:  # rotate: no subject always first
            samples[subject].append(_sample(python, subject, backend_, n + 1))
    # Diagnostics only: a quick run leaves them out.
    measured = [s for s in subjects if s != "floor"]  # the floor imports what boto3 does
    imports = {} if run.quick else {s: top_imports(python, s, backend_.endpoint) for s in measured}
    return ColdStarts(python, samples, imports, (load_before, os.getloadavg()[0]))


def _not_comparable(starts: ColdStarts, detail: dict[str, Any]) -> bool:
    """A quick run without bench/.venv-runtime measures in the dev venv: said so, and no verdict."""
    if starts.in_runtime_venv:
        return False
    detail["interpreter"] = f"{starts.python} (quick run without bench/.venv-runtime: not comparable)"
    return True


def _first_calls(name: str) -> str:
    return FIRST_CALLS.get(name, f"its sample events (events/{name}/*.json)")


def _handler_figure(run: Run, name: str) -> Measured:
    starts = run.shared(cold_starts)
    each_call = (s.calls_ms for s in starts.samples[name])
    detail = {
        "median_ms": round(starts.median(name), 1),
        "import_median_ms": round(starts.median(name, lambda s: s.import_ms), 1),
        "first_invocation_median_ms": round(starts.median(name, lambda s: sum(s.calls_ms)), 1),
        "first_invocation": _first_calls(name),
        "calls_median_ms": [round(statistics.median(call), 1) for call in zip(*each_call, strict=True)],
        "boto3_median_ms": round(starts.median("boto3"), 1),
        "import_only_ratio": round(starts.median(name, lambda s: s.import_ms) / starts.median("boto3"), 2),
        "ratio_of_minimums": round(starts.ratio_of_minimums(name), 2),
        "over_the_floor": round(starts.median(name) / starts.median("floor"), 2),
        "runs": len(starts.samples[name]),
        "importtime": starts.importtime(name),
    }
    return Measured(starts.ratio(name), detail, informative=_not_comparable(starts, detail))


def _part_figure(run: Run, name: str, part: Callable[[Sample], float]) -> Measured:
    starts = run.shared(cold_starts)
    detail = {"runs": len(starts.samples[name]), "first_invocation": _first_calls(name)}
    return Measured(starts.median(name, part), detail, informative=True)


def _register(name: str) -> None:
    @figure(
        f"cold_start.{name}",
        unit="x import boto3",
        budget=BUDGETS.get(name, BUDGET),
        title=f"Import and first invocation of functions/{name} in a fresh process, over `import boto3`.",
    )
    def cold_start(run: Run) -> Measured:
        return _handler_figure(run, name)

    @figure(
        f"cold_start.{name}.import_ms",
        unit="ms",
        title=f"Import and init of functions/{name} in a fresh process (median).",
    )
    def import_ms(run: Run) -> Measured:
        return _part_figure(run, name, lambda s: s.import_ms)

    @figure(
        f"cold_start.{name}.first_call_ms",
        unit="ms",
        title=f"First invocation of functions/{name} after its import: {_first_calls(name)} (median).",
    )
    def first_call_ms(run: Run) -> Measured:
        return _part_figure(run, name, lambda s: sum(s.calls_ms))


for _name in HANDLERS:
    _register(_name)


@figure("cold_start.floor", unit="x import boto3")
def cold_start_floor(run: Run) -> Measured:
    """`import boto3`, then one DynamoDB client and one GetItem, in a fresh process: the least that
    a function whose first invocation reads or writes DynamoDB can cost, over `import boto3`. A
    budget below it cannot be met with botocore; the handlers' distance from it is their own."""
    starts = run.shared(cold_starts)
    detail = {
        "median_ms": round(starts.median("floor"), 1),
        "client_and_get_item_median_ms": round(starts.median("floor", lambda s: sum(s.calls_ms)), 1),
        "boto3_median_ms": round(starts.median("boto3"), 1),
        "runs": len(starts.samples["floor"]),
    }
    return Measured(starts.ratio("floor"), detail, informative=_not_comparable(starts, detail))


@figure("cold_start.boto3_ms", unit="ms")
def cold_start_boto3(run: Run) -> Measured:
    """`import boto3` in a fresh process on this machine: the yardstick of the ratios above."""
    starts = run.shared(cold_starts)
    return Measured(
        starts.median("boto3"),
        {
            "runs": len(starts.samples["boto3"]),
            "load_average_1min_before_after": [round(x, 2) for x in starts.load_average],
            "cpus": os.cpu_count(),
            "importtime": starts.importtime("boto3"),
        },
    )
