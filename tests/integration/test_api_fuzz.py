"""A third-party fuzzer (schemathesis) against the management API, in-process: every operation of the
served OpenAPI document, with its examples, boundary and negative cases (coverage), random inputs,
and stateful sequences that follow the document's links (create a pipeline, then read, rename, add a
stage, delete it; create an item, then read, change, move, comment, delete it). The run is
deterministic (fixed seed) and bounded (examples per operation, steps per sequence).

It fails on any 5xx and on any answer its operation does not declare or that does not match the
declared schema: no input makes the API fail, and the document tells the truth.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

import pytest
import schemathesis
from schemathesis.engine import Status, events, from_schema

from tests.gateway import Gateway, wsgi_app

SEED = 20240607
CHECKS = (
    "not_a_server_error",
    # The document tells the truth: declared status codes, content types, schemas and headers.
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    # Input the schema forbids is refused; a method the path does not serve is 405.
    "negative_data_rejection",
    "unsupported_method",
    # ...and its Allow header lists exactly the methods the document declares on that path.
    "allow_header_conformance",
    # Along the links: what was created can be read, what was deleted is gone.
    "ensure_resource_availability",
    "use_after_free",
)


@dataclass
class FuzzRun:
    failures: list[str]
    statuses: Counter
    operations: int
    seconds: float

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())


def run_fuzzer(key: str, max_examples: int, max_steps: int, only: dict | None = None) -> FuzzRun:
    """Runs schemathesis against the in-process API (through the authorizer, as API Gateway would);
    ``only`` narrows it to some operations (``schema.include`` arguments)."""
    statuses: Counter = Counter()
    app = wsgi_app(Gateway())

    def counted(environ, start_response):
        def start(status, headers, *args):
            statuses[int(status.split()[0])] += 1
            return start_response(status, headers, *args)

        return app(environ, start)

    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "headers": {"Authorization": f"Bearer {key}"},
            "workers": 1,
            "generation": {"mode": "all", "max-examples": max_examples, "deterministic": True},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "phases": {"stateful": {"enabled": True, "max-steps": max_steps}},
            "warnings": False,
        }
    )
    schema = schemathesis.openapi.from_wsgi("/openapi.json", counted, config=config)
    if only:
        schema = schema.include(**only)
    statuses.clear()  # reading the document is not one of the fuzzer's requests
    failures: list[str] = []
    started = time.monotonic()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished) and event.status in (Status.FAILURE, Status.ERROR):
            for case_id, checks in event.recorder.checks.items():
                case = event.recorder.cases[case_id].value
                for check in checks:
                    if check.status is Status.FAILURE and check.failure_info is not None:
                        failure = check.failure_info.failure
                        failures.append(
                            f"{check.name}: {case.method} {case.formatted_path} query={case.query} "
                            f"body={str(case.body)[:200]}: {failure.title}: {failure.message[:300]}"
                        )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            failures.append(f"error: {event.info}")
    operations = sum(1 for result in schema.get_all_operations() if result.ok())
    return FuzzRun(failures, statuses, operations, time.monotonic() - started)


@pytest.fixture
def key(aws):
    """A tenant with some data, so that the fuzzer's reads and writes meet real records too."""
    from crm.service import configuration, items
    from crm.service.tenants import create_tenant

    issued = create_tenant("Acme", "acme")
    configuration.create_employee("acme", {"id": "anna", "name": "Anna", "email": "anna@acme.test"})
    for item_type, name in (("deal", "Sales"), ("lead", "Leads")):
        stages = [{"name": "New"}, {"name": "Work"}, {"name": "Won", "semantic": "success"}]
        configuration.create_pipeline("acme", {"item_type": item_type, "name": name, "stages": stages})
    items.create_item("acme", "deal", {"title": "Forklift", "emails": ["buyer@client.test"]})
    return issued.api_key


def test_the_fuzzer_finds_no_server_error_and_no_undeclared_answer(key):
    run = run_fuzzer(key, max_examples=50, max_steps=10)
    print(
        f"schemathesis: {run.operations} operations, {run.requests} requests in {run.seconds:.0f} s, "
        f"by status {dict(sorted(run.statuses.items()))}"
    )
    assert run.failures == [], "\n\n".join(run.failures)
    assert run.operations >= 35
    # The run is real: it reached every kind of answer, and its sequences created and deleted things.
    assert run.requests > 2000 and not [code for code in run.statuses if code >= 500]
    assert {200, 201, 204, 400, 404, 405, 409, 415, 422} <= set(run.statuses)


def test_the_fuzz_run_fails_on_a_server_error(key, monkeypatch):
    from crm.service import configuration

    def broken(tenant_id):
        raise RuntimeError("a bug")

    monkeypatch.setattr(configuration, "employees", broken)
    run = run_fuzzer(key, max_examples=2, max_steps=2, only={"path": "/employees", "method": "GET"})
    assert run.statuses[500] and any(f.startswith("not_a_server_error: GET /employees") for f in run.failures)


def test_the_fuzz_run_fails_on_an_answer_the_document_does_not_declare(key, monkeypatch):
    from crm.api.http import HttpError
    from crm.service import configuration

    def teapot(tenant_id):
        raise HttpError(418, "I'm a teapot")

    monkeypatch.setattr(configuration, "employees", teapot)
    run = run_fuzzer(key, max_examples=2, max_steps=2, only={"path": "/employees", "method": "GET"})
    assert run.statuses[418] and any(
        f.startswith("status_code_conformance: GET /employees") for f in run.failures
    )
