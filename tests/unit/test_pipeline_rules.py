"""Pipelines and their stages, ids, and the rules on stages with their common settings."""

from __future__ import annotations

from datetime import datetime

import pytest

from crm.domain.delays import DelayUnit
from crm.domain.errors import Invalid
from crm.domain.model import Pipeline, StageSemantic, Tenant, check_id, slug
from crm.domain.rules import Delay, DelayKind, PipelineConfig, Repeat, Retry, Rule, RuleKind
from tests.unit.builders import sales_pipeline, stage

SUCCESS, FAILURE = StageSemantic.SUCCESS, StageSemantic.FAILURE


def pipeline(*stages, **kw) -> Pipeline:
    return Pipeline(**{"id": "sales", "item_type": "deal", "name": "Sales", "stages": tuple(stages)} | kw)


# ---------------------------------------------------------------- pipelines


def test_a_pipeline_knows_its_stages():
    sales = sales_pipeline()
    assert sales.first_stage.id == "NEW"
    assert sales.stage("WON").semantic is SUCCESS
    assert sales.stage("WON").is_final and sales.stage("LOST").is_final
    assert not sales.stage("PREP").is_final
    assert sales.has_stage("PREP") and not sales.has_stage("prep")


def test_asking_for_a_stage_the_pipeline_lacks_is_invalid():
    with pytest.raises(Invalid, match="pipeline 'sales' has no stage 'GONE'"):
        sales_pipeline().stage("GONE")


def test_a_pipeline_needs_a_stage():
    with pytest.raises(Invalid, match="at least one stage"):
        pipeline()


def test_stage_ids_are_unique():
    with pytest.raises(Invalid, match="stage ids must be unique"):
        pipeline(stage("NEW", 10), stage("WORK", 20), stage("NEW", 30))


@pytest.mark.parametrize("bad", ["has space", "A#B", "-lead", "", "x" * 65])
def test_stage_ids_are_key_safe(bad):
    with pytest.raises(Invalid, match="stage id"):
        pipeline(stage(bad, 10, name="Stage"))


def test_the_pipeline_id_is_key_safe():
    with pytest.raises(Invalid, match="pipeline id 'sales#2'"):
        pipeline(stage("NEW", 10), id="sales#2")


@pytest.mark.parametrize("colour", ["#39a8eF", "#000000", "#FFFFFF"])
def test_colours_are_hex_triplets(colour):
    assert pipeline(stage("NEW", 10, color=colour)).stages[0].color == colour


@pytest.mark.parametrize("colour", ["red", "#FFF", "#GGGGGG", "39A8EF", "#39A8EF0", ""])
def test_other_colours_are_refused(colour):
    with pytest.raises(Invalid, match="stage 'NEW': colour must be #RRGGBB"):
        pipeline(stage("NEW", 10, color=colour))


def test_a_stage_has_a_name():
    with pytest.raises(Invalid, match="stage 'NEW': name must not be empty"):
        pipeline(stage("NEW", 10, name="   "))


def test_final_stages_come_after_every_in_progress_stage():
    with pytest.raises(Invalid, match="final stages"):
        pipeline(stage("NEW", 10), stage("WON", 20, SUCCESS), stage("WORK", 30))
    with pytest.raises(Invalid, match="final stages"):
        pipeline(stage("LOST", 10, FAILURE), stage("NEW", 20))


def test_a_pipeline_may_have_several_failure_stages():
    assert len(pipeline(stage("NEW", 10), stage("LOST", 20, FAILURE), stage("SPAM", 30, FAILURE)).stages) == 3


def test_a_pipeline_needs_an_in_progress_stage_where_new_items_start():
    with pytest.raises(Invalid, match="at least one in-progress stage"):
        pipeline(stage("WON", 10, SUCCESS), stage("LOST", 20, FAILURE))


def test_a_pipeline_has_at_most_one_success_stage():
    with pytest.raises(Invalid, match="at most one success stage"):
        pipeline(stage("NEW", 10), stage("WON", 20, SUCCESS), stage("PAID", 30, SUCCESS))


def test_with_stages_reorders_renumbers_and_bumps_the_version():
    sales = sales_pipeline(version=4)
    new, work, prep, won, lost = sales.stages

    changed = sales.with_stages([work, new, prep, won, lost])

    assert [(s.id, s.sort) for s in changed.stages] == [
        ("WORK", 10),
        ("NEW", 20),
        ("PREP", 30),
        ("WON", 40),
        ("LOST", 50),
    ]
    assert changed.version == 5
    assert (changed.id, changed.name, changed.item_type) == (sales.id, sales.name, sales.item_type)
    assert sales.version == 4 and sales.stages[0].id == "NEW"  # the original is untouched


def test_with_stages_renumbers_whatever_sorts_the_stages_had():
    changed = sales_pipeline().with_stages([stage("A", 999), stage("B", -5)])
    assert [s.sort for s in changed.stages] == [10, 20]


def test_with_stages_validates_the_result():
    sales = sales_pipeline()
    new, work, prep, won, lost = sales.stages
    with pytest.raises(Invalid, match="final stages"):
        sales.with_stages([won, new, work, prep, lost])
    with pytest.raises(Invalid, match="unique"):
        sales.with_stages([new, new, won])


# ---------------------------------------------------------------- ids


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Preparing documents", "preparing_documents"),
        ("  Won!! (final) ", "won_final"),
        ("Stage 2", "stage_2"),
    ],
)
def test_slug_derives_an_id_from_a_name_for_pipelines_and_stages_alike(name, expected):
    assert slug(name) == expected


def test_a_slug_that_is_taken_gets_the_next_free_number():
    assert slug("Won", {"won"}) == "won_2"
    assert slug("Won", {"won", "won_2", "won_3"}) == "won_4"
    assert slug("Won", {"won_2"}) == "won"


def test_a_slug_is_a_valid_id_however_long_the_name_and_its_number():
    derived = slug("word " * 40)
    assert len(derived) == 60 and check_id(derived, "id") == derived
    numbered = slug("word " * 40, {derived, *(f"{derived}_{n}" for n in range(2, 120))})
    assert numbered == f"{derived}_120" and check_id(numbered, "id") == numbered


@pytest.mark.parametrize("name", ["", "!!!", "Сделка"])
def test_a_name_without_latin_letters_or_digits_needs_an_explicit_id(name):
    with pytest.raises(Invalid, match="cannot derive an id"):
        slug(name)


@pytest.mark.parametrize("good", ["a", "NEW", "deal-1", "C1_2.x", "x" * 64])
def test_check_id_accepts_key_safe_ids(good):
    assert check_id(good, "stage id") == good


@pytest.mark.parametrize("bad", ["", "x" * 65, "_lead", "a#b", "a/b", "a b", "é"])
def test_check_id_refuses_others_naming_what_was_wrong(bad):
    with pytest.raises(Invalid, match=r"^rule id .* must be 1-64 letters"):
        check_id(bad, "rule id")


@pytest.mark.parametrize("bad", ["ab", "Acme", "acme_co", "-acme", "a" * 41])
def test_tenant_ids_are_lower_case_and_short(bad):
    with pytest.raises(Invalid, match="tenant id"):
        Tenant(bad, "Acme", datetime(2026, 1, 1))
    assert Tenant("acme-42", "Acme", datetime(2026, 1, 1)).id == "acme-42"


# ---------------------------------------------------------------- rules and their settings


def rule(kind: RuleKind = RuleKind.ROBOT, **kw) -> Rule:
    values = {"id": "r1", "kind": kind, "type_code": "send_email", "name": "Mail", "stage_id": "NEW"}
    return Rule(**values | kw)


def test_a_robot_takes_delay_retry_repeat_and_after_previous():
    robot = rule(
        delay=Delay(DelayKind.AFTER, 30, working_time=True),
        retry=Retry(3, 120),
        repeat=Repeat(60, 5),
        after_previous=True,
    )
    assert (robot.delay.amount, robot.delay.unit, robot.retry.attempts, robot.repeat.times) == (
        30,
        DelayUnit.MINUTES,
        3,
        5,
    )


def test_a_trigger_may_allow_moving_backwards():
    assert rule(RuleKind.TRIGGER, allow_backwards=True).allow_backwards


@pytest.mark.parametrize(
    "robot_setting",
    [
        {"delay": Delay(DelayKind.AFTER, 10)},
        {"retry": Retry(attempts=2)},
        {"repeat": Repeat(10, 2)},
        {"after_previous": True},
    ],
)
def test_robot_settings_are_refused_on_a_trigger(robot_setting):
    with pytest.raises(Invalid, match="are robot settings"):
        rule(RuleKind.TRIGGER, **robot_setting)


def test_allow_backwards_is_refused_on_a_robot():
    with pytest.raises(Invalid, match="allow_backwards is a trigger setting"):
        rule(RuleKind.ROBOT, allow_backwards=True)


def test_an_immediate_delay_is_the_default():
    assert Delay() == Delay(DelayKind.IMMEDIATE, 0, DelayUnit.MINUTES, None, None, False)


def test_delay_minutes_are_not_negative():
    with pytest.raises(Invalid, match="must not be negative"):
        Delay(DelayKind.AFTER, -1)


@pytest.mark.parametrize("kind", [DelayKind.BEFORE_FIELD, DelayKind.AFTER_FIELD])
def test_a_delay_relative_to_a_field_names_the_field(kind):
    assert Delay(kind, 60, field="deadline").field == "deadline"
    with pytest.raises(Invalid, match="needs field"):
        Delay(kind, 60)


@pytest.mark.parametrize("kind", [DelayKind.IMMEDIATE, DelayKind.AFTER])
def test_other_delays_take_no_field(kind):
    with pytest.raises(Invalid, match="takes no field"):
        Delay(kind, 5, field="deadline")


@pytest.mark.parametrize(("attempts", "backoff"), [(0, 1), (10, 86_400), (3, 60)])
def test_retry_within_bounds(attempts, backoff):
    assert Retry(attempts, backoff).attempts == attempts


@pytest.mark.parametrize(
    ("attempts", "backoff", "message"),
    [(-1, 60, "attempts"), (11, 60, "attempts"), (1, 0, "backoff"), (1, 86_401, "backoff")],
)
def test_retry_out_of_bounds(attempts, backoff, message):
    with pytest.raises(Invalid, match=message):
        Retry(attempts, backoff)


@pytest.mark.parametrize(("every", "times"), [(1, 1), (1440, 100)])
def test_repeat_within_bounds(every, times):
    assert Repeat(every, times).times == times


@pytest.mark.parametrize(("every", "times"), [(0, 5), (10, 0), (10, 101)])
def test_repeat_out_of_bounds(every, times):
    with pytest.raises(Invalid, match="repeat every"):
        Repeat(every, times)


# ---------------------------------------------------------------- a pipeline with its rules


def test_rules_on_a_stage_of_one_kind_in_their_order():
    config = PipelineConfig(
        sales_pipeline(version=7),
        (
            rule(id="mail", sort=20),
            rule(id="sms", sort=10),
            rule(RuleKind.TRIGGER, id="paid", sort=5),
            rule(id="task", stage_id="WORK", sort=1),
        ),
    )
    assert [r.id for r in config.rules_on("NEW", RuleKind.ROBOT)] == ["sms", "mail"]
    assert [r.id for r in config.rules_on("NEW", RuleKind.TRIGGER)] == ["paid"]
    assert [r.id for r in config.rules_on("WORK", RuleKind.ROBOT)] == ["task"]
    assert config.rules_on("WON", RuleKind.ROBOT) == []
    assert config.version == 7


def test_a_rule_is_found_by_id():
    config = PipelineConfig(sales_pipeline(), (rule(id="mail"), rule(id="sms")))
    assert config.rule("sms").id == "sms"
    assert config.rule("nope") is None
