"""*Add comment*: a rendered comment asked for the item's timeline."""

from __future__ import annotations

import pytest

from crm.domain.robots import RobotFailed
from tests.unit.builders import deal
from tests.unit.robots.running import ran, refused


def test_the_comment_is_rendered_with_earlier_robots_outputs():
    params = {"text": "Task {{ robots.r0.task_id }} made for {{ item.title }}"}
    outputs, ctx = ran(deal(), "add_comment", params, earlier_outputs={"r0": {"task_id": "t-9"}})
    assert outputs == {} and ctx.effects.comments == ["Task t-9 made for Ten laptops"]


def test_a_comment_rendering_empty_fails_for_good():
    with pytest.raises(RobotFailed) as failed:
        ran(deal(), "add_comment", {"text": "{{ item.company }}"})
    assert not failed.value.retryable


def test_a_text_is_required():
    assert "text" in refused("add_comment", {})
