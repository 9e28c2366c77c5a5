"""*Change stage*: asks the runner to move the item (in its pipeline, or to another of its type)."""

from __future__ import annotations

from crm.domain.robots import MoveTo
from tests.unit.builders import deal
from tests.unit.robots.running import ran, refused


def test_a_move_in_the_items_pipeline():
    outputs, ctx = ran(deal("NEW"), "change_stage", {"stage_id": "PREP"})
    assert outputs == {"stage_id": "PREP"} and ctx.effects.move_to == MoveTo("PREP", None)
    assert ctx.effects.changes == {} and ctx.effects.records == []


def test_a_move_to_another_pipeline_names_it_and_naming_its_own_is_the_same_as_none():
    _, other = ran(deal(), "change_stage", {"stage_id": "NEW", "pipeline_id": "repeat_sales"})
    _, own = ran(deal(), "change_stage", {"stage_id": "WORK", "pipeline_id": "sales"})
    assert other.effects.move_to == MoveTo("NEW", "repeat_sales") and own.effects.move_to == MoveTo("WORK")


def test_a_stage_is_required_and_an_id():
    assert "stage_id: Field required" in refused("change_stage", {})
    assert "stage_id" in refused("change_stage", {"stage_id": "no such#stage"})
