"""The domain core and the trigger and robot types stay free of AWS and persistence libraries:
adapters translate from outside."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "shared"
DOMAIN = LAYER / "crm" / "domain"
# Trigger types are pure too: a dry run or a replay decides with them, touching nothing. Robot
# types act only through the ports of their context, so they are tested on fakes.
TRIGGERS = LAYER / "crm" / "triggers"
ROBOTS = LAYER / "crm" / "robots"
FORBIDDEN = ("boto3", "botocore", "pynamodb", "aws_lambda_powertools", "moto")

SOURCES = sorted([*DOMAIN.rglob("*.py"), *TRIGGERS.rglob("*.py"), *ROBOTS.rglob("*.py")])
MODULES = [
    ".".join(path.relative_to(LAYER).with_suffix("").parts).removesuffix(".__init__") for path in SOURCES
]


def imported(path: Path) -> set[str]:
    """Every absolute module name a source file imports, at any place in the file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def top(name: str) -> str:
    return name.partition(".")[0]


def test_the_domain_has_sources():
    assert {"crm.domain.conditions", "crm.domain.transitions", "crm.domain.rules"} <= set(MODULES)
    assert {"crm.domain.triggering", "crm.triggers", "crm.triggers.field_changed"} <= set(MODULES)
    assert {"crm.domain.robots", "crm.robots", "crm.robots.send_email"} <= set(MODULES)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_domain_module_imports_aws_or_persistence_libraries(path):
    assert {name for name in imported(path) if top(name) in FORBIDDEN} == set()


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_the_domain_imports_nothing_of_crm_outside_the_domain(path):
    # The domain imports only itself; trigger and robot types import the domain and their kind.
    if path.is_relative_to(DOMAIN):
        allowed: tuple[str, ...] = ("crm.domain",)
    elif path.is_relative_to(TRIGGERS):
        allowed = ("crm.domain", "crm.triggers")
    else:
        allowed = ("crm.domain", "crm.robots")
    outside = {
        n
        for n in imported(path)
        if top(n) == "crm" and not any(n == a or n.startswith(f"{a}.") for a in allowed)
    }
    assert outside == set()


def test_the_import_check_sees_both_import_forms(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text(
        "import boto3.session\ndef f():\n    from pynamodb.models import Model\nfrom . import x\n"
    )
    assert imported(source) == {"boto3.session", "pynamodb.models"}


def test_importing_the_domain_loads_no_aws_or_persistence_library():
    script = (
        "import importlib, json, sys\n"
        f"for name in {MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.partition('.')[0] in {FORBIDDEN!r})))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")} | {"PYTHONPATH": str(LAYER)}
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


# The API layer: the routers and what they are made of (schemas, error mapping, the document).
API_MODULES = sorted((LAYER / "crm" / "api").glob("*.py"))


@pytest.mark.parametrize("path", API_MODULES, ids=lambda p: p.name)
def test_the_api_calls_use_cases_never_adapters(path):
    # Routers parse and respond; what a request does, with which stores, is a use-case's business.
    assert {n for n in imported(path) if n == "crm.adapters" or n.startswith("crm.adapters.")} == set()
