"""*Copy item*: a new item with the item's values through the items port, once per run."""

from __future__ import annotations

import pytest

from crm.domain.robots import RobotFailed
from tests.fakes import FakePorts
from tests.unit.builders import deal
from tests.unit.robots.running import ran


def test_a_copy_in_the_first_stage_of_its_pipeline_once_whatever_the_attempts():
    ports = FakePorts()
    item = deal(
        "WORK",
        responsible_id="anna",
        emails=["buyer@client.test"],
        company="Client",
        fields={"source": "web"},
    )
    outputs, ctx = ran(item, "copy_item", {"title": "Repeat: {{ item.title }}"}, fakes=ports)
    again, _ = ran(item, "copy_item", {"title": "Repeat: {{ item.title }}"}, fakes=ports, attempt=2)

    ((key, copy),) = ports.items.created.items()
    assert key == ctx.idempotency_key and outputs == again == {"item_id": copy.id}
    assert (copy.type, copy.title, copy.pipeline_id, copy.stage_id) == (
        "deal",
        "Repeat: Ten laptops",
        "sales",
        "NEW",
    )
    assert (copy.amount, copy.currency, copy.responsible_id) == (12_000.0, "EUR", "anna")
    assert (copy.emails, copy.company, copy.fields) == (["buyer@client.test"], "Client", {"source": "web"})


def test_a_copy_into_another_pipeline_and_stage_for_another_employee():
    ports = FakePorts()
    params = {"pipeline_id": "repeat_sales", "stage_id": "OFFER", "responsible_id": "ivan"}
    ran(deal(responsible_id="anna"), "copy_item", params, fakes=ports)
    (copy,) = ports.items.created.values()
    assert (copy.pipeline_id, copy.stage_id, copy.responsible_id, copy.title) == (
        "repeat_sales",
        "OFFER",
        "ivan",
        "Ten laptops",
    )


def test_a_copy_into_the_robots_own_stage_is_refused_as_it_would_copy_itself_for_ever():
    ports = FakePorts()
    with pytest.raises(RobotFailed) as failed:
        ran(deal("WORK"), "copy_item", {"stage_id": "WORK"}, fakes=ports)
    assert not failed.value.retryable and ports.items.created == {}
