"""A pipeline's rules are indexed once, when its configuration is made: a stage's rules of one
kind, the triggers of one type, a rule by id are look-ups, whatever the number of rules (the
bench's rules.pipeline_scale figures time it at 10, 1,000 and 10,000 rules)."""

from __future__ import annotations

from dataclasses import replace

from crm.domain.rules import PipelineConfig, Rule, RuleKind
from tests.unit.builders import sales_pipeline


def trigger(id: str, stage_id: str, type_code: str = "webform_filled", sort: int = 0, **params) -> Rule:
    return Rule(id, RuleKind.TRIGGER, type_code, id, stage_id, params=params, sort=sort)


def robot(id: str, stage_id: str, sort: int = 0) -> Rule:
    return Rule(id, RuleKind.ROBOT, "send_email", id, stage_id, sort=sort)


def test_the_triggers_of_a_type_come_in_stage_order_then_their_own():
    config = PipelineConfig(
        sales_pipeline(),
        (
            trigger("won-form", "WON", form_id="contract"),
            trigger("new-form-2", "NEW", sort=20, form_id="f2"),
            trigger("call", "NEW", "call_received"),
            robot("mail", "NEW"),
            trigger("prep-form", "PREP", form_id="f2"),
            trigger("new-form-1", "NEW", sort=10, form_id="f1"),
        ),
    )
    assert [r.id for r in config.triggers_of_type("webform_filled")] == [
        "new-form-1",
        "new-form-2",
        "prep-form",
        "won-form",
    ]
    assert [r.id for r in config.triggers_of_type("call_received")] == ["call"]
    assert config.triggers_of_type("send_email") == ()  # a robot type: robots fire on stage entry
    assert config.triggers_of_type("invoice_paid") == ()


def test_other_rules_do_not_change_what_an_event_finds():
    few = PipelineConfig(sales_pipeline(), (trigger("form", "WORK", form_id="f2"),))
    others = tuple(
        trigger(f"t{n}", ("NEW", "WORK", "PREP")[n % 3], "link_clicked") if n % 2 else robot(f"r{n}", "NEW")
        for n in range(1000)
    )
    many = PipelineConfig(sales_pipeline(), (*others, *few.rules))
    assert many.triggers_of_type("webform_filled") == few.triggers_of_type("webform_filled")
    assert len(many.rules_on("NEW", RuleKind.ROBOT)) == 500
    assert many.rule("form") is few.rules[0] and many.rule("t999").type_code == "link_clicked"


def test_a_configuration_made_from_another_is_indexed_anew():
    config = PipelineConfig(sales_pipeline(), (robot("mail", "NEW"),))
    changed = replace(config, rules=(*config.rules, robot("sms", "NEW", sort=-1), trigger("form", "NEW")))
    assert [r.id for r in changed.rules_on("NEW", RuleKind.ROBOT)] == ["sms", "mail"]
    assert [r.id for r in changed.triggers_of_type("webform_filled")] == ["form"]
    assert [r.id for r in config.rules_on("NEW", RuleKind.ROBOT)] == ["mail"]
    assert changed.rule("sms") is not None and config.rule("sms") is None


def test_a_rule_on_a_stage_the_pipeline_no_longer_has_stays_findable():
    # (deleting a stage deletes its rules; a record left by an older version must not break loading)
    config = PipelineConfig(sales_pipeline(), (trigger("old", "GONE"), trigger("new", "NEW")))
    assert [r.id for r in config.triggers_of_type("webform_filled")] == ["new", "old"]
    assert [r.id for r in config.rules_on("GONE", RuleKind.TRIGGER)] == ["old"]
