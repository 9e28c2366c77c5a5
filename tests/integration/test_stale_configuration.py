"""A warm container's copy of a pipeline may be older than the stored one (another container changed
it): writes decided on the copy are checked by version, and a refusal decided on the copy is decided
again on a fresh one, so a change made elsewhere never causes a wrong refusal."""

from __future__ import annotations

import pytest

from crm.adapters import automation
from crm.service import configuration, items


@pytest.fixture
def sales(aws):
    configuration.create_pipeline(
        "acme",
        {
            "id": "sales",
            "item_type": "deal",
            "name": "Sales",
            "stages": [
                {"id": "new", "name": "New"},
                {"id": "qualified", "name": "Qualified"},
                {"id": "proposal", "name": "Proposal"},
                {"id": "won", "name": "Won", "semantic": "success"},
            ],
        },
    )
    return automation.load("acme", "sales")


def elsewhere(change, old_copy) -> None:
    """``change`` made by another container: this one still holds ``old_copy``."""
    change()
    automation._cache[("acme", "sales")] = old_copy


def test_a_move_refused_on_a_stale_stage_order_is_decided_again_on_the_stored_one(sales):
    deal = items.create_item("acme", "deal", {"title": "Chairs", "stage_id": "proposal"})
    elsewhere(
        lambda: configuration.reorder_stages("acme", "sales", ["new", "proposal", "qualified", "won"]), sales
    )

    moved, did_move = items.manual_move("acme", "deal", deal.id, "qualified", None, False)

    assert did_move and moved.stage_id == "qualified"


def test_a_stage_added_elsewhere_can_be_listed_at_once(sales):
    elsewhere(lambda: configuration.add_stage("acme", "sales", {"id": "offer", "name": "Offer"}), sales)

    found, _, listed = items.list_items("acme", "deal", None, "offer", 50, None)

    assert (found, listed) == ([], "sales")


def test_a_refusal_that_stands_on_the_stored_pipeline_is_still_a_refusal(sales):
    from crm.domain.errors import MoveRefused

    deal = items.create_item("acme", "deal", {"title": "Chairs", "stage_id": "proposal"})

    with pytest.raises(MoveRefused):
        items.manual_move("acme", "deal", deal.id, "new", None, False)
