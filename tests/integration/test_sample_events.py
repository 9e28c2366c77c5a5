"""The sample events under events/ (for `sam local invoke -e`) are what the handlers accept."""

from __future__ import annotations

import pytest

from bench import template
from tests.conftest import ROOT, lambda_context, load_event, load_handler
from tests.integration.conftest import drain


def test_every_function_has_sample_events():
    functions = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))
    assert functions == sorted(template.functions())
    for name in functions:
        assert list((ROOT / "events" / name).glob("*.json")), f"no sample event for {name}"


def test_api_sample_events(aws):
    from crm.service import configuration, items

    configuration.create_pipeline(
        "demo", {"item_type": "deal", "name": "Sales", "stages": [{"name": "New"}, {"name": "Preparation"}]}
    )
    configuration.create_employee("demo", {"id": "anna", "name": "Anna", "email": "anna@demo.test"})
    items.create_item("demo", "deal", {"title": "Forklift"})
    api = load_handler("api")
    listed = api.lambda_handler(load_event("api/get_pipelines.json"), lambda_context())
    assert listed["statusCode"] == 200 and '"sales"' in listed["body"]
    moved = api.lambda_handler(load_event("api/move_stage.json"), lambda_context())
    assert moved["statusCode"] == 200 and '"preparation"' in moved["body"]


def test_authorizer_sample_event_carries_a_key_that_is_refused_until_issued(aws):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        load_handler("authorizer").lambda_handler(load_event("authorizer/request.json"), lambda_context())


def test_fanout_sample_event_publishes_created_and_stage_changed(bus):
    sqs, queues = bus
    answer = load_handler("fanout").lambda_handler(load_event("fanout/stage_changed.json"), lambda_context())
    assert answer == {"batchItemFailures": []}
    published = drain(sqs, queues["everything"])
    assert [e["detail-type"] for e in published] == ["ItemCreated", "StageChanged"]
