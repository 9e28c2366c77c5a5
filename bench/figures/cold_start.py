"""Cold start: each handler's import and init in a fresh process, as a ratio to `import boto3`.

Both run in bench/.venv-runtime, a venv with only requirements.txt (no dev tools: aws-sam-cli would
bring awscrt into botocore's imports and slow boto3 down, flattering the ratio). It is made on first
use and remade when requirements.txt or constraints.txt change. Every sample is a new process with
the function's environment from template.yaml and the variables Lambda sets (so the tracer is on,
as with Tracing: Active); samples of boto3 and of the handlers alternate, and each figure is the
ratio of medians. One warm-up round first writes the bytecode caches.

The detail also has one `python -X importtime` run per subject (its times include the option's
overhead): the packages with the most import time of their own, and the imports of the handler and
of its direct imports that take longest in all. That is where to look when a handler is over
budget. Every function of the template whose code is under functions/ gets a figure.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bench import ROOT, template
from bench.registry import Measured, Run, figure
from bench.world import REGION

RUNTIME = ROOT / "bench" / ".venv-runtime"
PROBE = ROOT / "bench" / "probe.py"
HANDLERS = tuple(template.functions())  # every function of the template, by its directory
BUDGET = 1.3
RUNS, QUICK_RUNS = 15, 5
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


def lambda_environment(subject: str) -> dict[str, str]:
    """The function's variables from the template and what Lambda adds (boto3: the first's)."""
    name = HANDLERS[0] if subject == "boto3" else subject
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
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


def _probe(python: Path, subject: str, *flags: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(python), "-I", *flags, str(PROBE), subject, str(ROOT)],
        env=lambda_environment(subject),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        raise RuntimeError(f"importing {subject} in {python} failed:\n{done.stderr[-2000:]}")
    return done


def _sample(python: Path, subject: str) -> float:
    return int(_probe(python, subject).stdout) / 1e6


def top_imports(python: Path, subject: str) -> dict[str, dict[str, float]]:
    """From one `-X importtime` run: own import time (ms) by top-level package, and the modules
    imported by the subject or by its direct imports with the largest cumulative time."""
    own: dict[str, float] = defaultdict(float)
    cumulative: list[tuple[float, str]] = []
    for line in _probe(python, subject, "-X", "importtime").stderr.splitlines():
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
    wall_ms: dict[str, list[float]]
    imports: dict[str, dict[str, dict[str, float]]]

    def median(self, subject: str) -> float:
        return statistics.median(self.wall_ms[subject])

    def ratio(self, subject: str) -> float:
        return self.median(subject) / self.median("boto3")

    def ratio_of_minimums(self, subject: str) -> float:
        return min(self.wall_ms[subject]) / min(self.wall_ms["boto3"])

    @property
    def in_runtime_venv(self) -> bool:
        return self.python.is_relative_to(RUNTIME)


def cold_starts(run: Run) -> ColdStarts:
    python = runtime_python(run.quick)
    subjects = ("boto3", *HANDLERS)
    for subject in subjects:
        _sample(python, subject)  # warm-up: bytecode caches, page cache
    wall: dict[str, list[float]] = {s: [] for s in subjects}
    for n in range(QUICK_RUNS if run.quick else RUNS):
        turn = n % len(subjects)
        for subject in subjects[turn:] + subjects[:turn]:  # rotate: no subject always first
            wall[subject].append(_sample(python, subject))
    imports = {s: top_imports(python, s) for s in subjects}
    return ColdStarts(python, wall, imports)


def _handler_figure(run: Run, name: str) -> Measured:
    starts = run.shared(cold_starts)
    detail = {
        "median_ms": round(starts.median(name), 1),
        "boto3_median_ms": round(starts.median("boto3"), 1),
        "ratio_of_minimums": round(starts.ratio_of_minimums(name), 2),
        "runs": len(starts.wall_ms[name]),
        "importtime": starts.imports[name],
    }
    if not starts.in_runtime_venv:
        detail["interpreter"] = f"{starts.python} (quick run without bench/.venv-runtime: not comparable)"
        return Measured(starts.ratio(name), detail, informative=True)
    return Measured(starts.ratio(name), detail)


def _register(name: str) -> None:
    @figure(
        f"cold_start.{name}",
        unit="x import boto3",
        budget=BUDGET,
        title=f"Import and init of functions/{name} in a fresh process, over `import boto3`.",
    )
    def cold_start(run: Run) -> Measured:
        return _handler_figure(run, name)


for _name in HANDLERS:
    _register(_name)


@figure("cold_start.boto3_ms", unit="ms")
def cold_start_boto3(run: Run) -> Measured:
    """`import boto3` in a fresh process on this machine: the yardstick of the ratios above."""
    starts = run.shared(cold_starts)
    return Measured(
        starts.median("boto3"),
        {"runs": len(starts.wall_ms["boto3"]), "importtime": starts.imports["boto3"]},
    )
