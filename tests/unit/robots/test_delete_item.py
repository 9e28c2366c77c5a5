"""*Delete item*: the item is deleted through the items port."""

from __future__ import annotations

from tests.fakes import FakePorts
from tests.unit.builders import deal
from tests.unit.robots.running import ran, refused


def test_the_item_is_deleted():
    ports = FakePorts()
    outputs, _ = ran(deal(), "delete_item", {}, fakes=ports)
    assert outputs == {} and ports.items.deleted == ["deal/d-1"]


def test_it_takes_no_params():
    assert "Extra inputs" in refused("delete_item", {"really": True})
