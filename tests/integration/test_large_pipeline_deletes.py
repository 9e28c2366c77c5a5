"""A stage or a pipeline with more rules than one DynamoDB transaction holds (100 actions) can still be
deleted, rules and all."""

from __future__ import annotations

import pytest

from crm.adapters import automation
from crm.domain.rules import RuleKind
from crm.service import configuration, rules

RULES = 150


@pytest.fixture
def crowded(aws):
    configuration.create_pipeline(
        "acme",
        {
            "id": "sales",
            "item_type": "deal",
            "name": "Sales",
            "stages": [
                {"id": "new", "name": "New"},
                {"id": "crowded", "name": "Crowded"},
                {"id": "won", "name": "Won", "semantic": "success"},
            ],
        },
    )
    for n in range(RULES):
        rules.create_rule(
            "acme",
            "deal",
            "sales",
            RuleKind.TRIGGER,
            {"type_code": "webhook", "stage_id": "crowded", "params": {"code": f"hook_{n}"}},
        )
    rules.create_rule(
        "acme", "deal", "sales", RuleKind.TRIGGER, {"type_code": "webhook", "stage_id": "won", "params": {}}
    )
    assert len(automation.load("acme", "sales", fresh=True).rules) == RULES + 1


def test_a_stage_with_more_rules_than_a_transaction_holds_is_deleted_with_them(crowded):
    configuration.delete_stage("acme", "sales", "crowded")

    config = automation.load("acme", "sales", fresh=True)
    assert [s.id for s in config.pipeline.stages] == ["new", "won"]
    assert [r.stage_id for r in config.rules] == ["won"]


def test_a_pipeline_with_more_rules_than_a_transaction_holds_is_deleted_with_them(crowded):
    configuration.delete_pipeline("acme", "sales")
    configuration.create_pipeline(
        "acme", {"id": "sales", "item_type": "deal", "name": "Sales again", "stages": [{"name": "New"}]}
    )

    assert automation.load("acme", "sales", fresh=True).rules == ()
