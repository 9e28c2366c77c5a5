"""What a source has read already is not read again by the engine, against moto: the item an event
names (``read``: a click reads it with the sent mail's record), the contact's items (``found``: mail
looks up its sender once), and records on each item the event concerns (``per_item``: inbound mail's
entry) written in the event's own transactions, once per item whatever the deliveries."""

from __future__ import annotations

from dataclasses import replace

import pytest

from crm.domain.trigger_events import Contact, ItemRef
from tests.integration.dynamodb_faults import dynamodb_faults  # noqa: F401 - a fixture
from tests.integration.test_apply_trigger_events import BUYER, event, journal_of, stage
from tests.integration.test_apply_trigger_events import crm as crm

NOTE = "note:hook-1"


def operations(dynamodb) -> list[str]:
    return [operation for operation, _ in dynamodb.calls]


def noted():
    """A source's record on each item: a timeline entry, marked once per item."""
    from crm.adapters import items
    from crm.adapters.along import PerItem
    from crm.domain import clock
    from crm.domain.model import TimelineEntry, TimelineKind

    entry = TimelineEntry("n1", TimelineKind.COMMENT, clock.now(), None, {"text": "from the source"})
    return PerItem(lambda type_code, item_id: items.entry_once("acme", type_code, item_id, entry, NOTE))


def notes(item) -> int:
    from crm.service import items

    entries, _ = items.timeline("acme", item.type, item.id, 50, None)
    return sum(1 for entry in entries if entry.data.get("text") == "from the source")


# ---------------------------------------------------------------- read


def test_an_item_read_by_the_source_costs_the_transaction_alone(crm, dynamodb):
    from crm.service import items
    from crm.service.triggers import apply_trigger_event

    deal = items.get_item("acme", "deal", crm["open"].id)
    dynamodb.calls.clear()
    (applied,) = apply_trigger_event(event(item=ItemRef("deal", deal.id)), read=deal)
    assert operations(dynamodb) == ["TransactWriteItems"]
    assert applied.moved and stage(deal) == "offer_viewed"


def test_a_stale_item_read_by_the_source_is_read_again_and_decided_on_as_it_is(crm, dynamodb):
    from crm.service import items
    from crm.service.triggers import apply_trigger_event

    # Given the source's copy read before a manager closed the deal
    copy = items.get_item("acme", "deal", crm["open"].id)
    items.manual_move("acme", "deal", copy.id, "won", None, False)
    dynamodb.calls.clear()
    # When the event is applied to that copy
    (applied,) = apply_trigger_event(event(item=ItemRef("deal", copy.id)), read=copy)
    # Then the version check refuses the write, and the deal as stored is closed: nothing moves
    assert operations(dynamodb)[:2] == ["TransactWriteItems", "GetItem"]
    assert not applied.moved and stage(copy) == "won"
    assert [entry["outcome"] for entry in journal_of(copy)] == [applied.outcome.value]


def test_an_item_read_for_another_reference_is_refused(crm):
    from crm.service import items
    from crm.service.triggers import apply_trigger_event

    other = items.get_item("acme", "deal", crm["won"].id)
    with pytest.raises(ValueError, match="was read for an event naming"):
        apply_trigger_event(event(item=ItemRef("deal", crm["open"].id)), read=other)
    assert stage(crm["open"]) == "new" and journal_of(crm["open"]) == []


# ---------------------------------------------------------------- found, per item


def test_the_contacts_items_found_by_the_source_are_not_looked_up_again(crm, dynamodb):
    from crm.service import items
    from crm.service.triggers import apply_trigger_event

    found = items.find_by_contact("acme", "buyer@client.test", None)
    dynamodb.calls.clear()
    (applied,) = apply_trigger_event(event(contact=BUYER), found=found)
    assert applied.moved
    assert operations(dynamodb) == ["BatchGetItem", "TransactWriteItems"]


def test_records_on_each_item_go_in_the_events_transaction_once_per_item(crm, dynamodb):
    from crm.service import items
    from crm.service.triggers import apply_trigger_event

    found = items.find_by_contact("acme", "buyer@client.test", None)
    per_item = noted()
    dynamodb.calls.clear()
    apply_trigger_event(event(contact=BUYER), found=found, per_item=per_item)
    # the open deal's move, with the records on it, the won deal and the lead (passed over)
    assert operations(dynamodb) == ["BatchGetItem", "TransactWriteItems"]
    assert per_item.written == 3
    assert [notes(crm[name]) for name in ("open", "won", "lead")] == [1, 1, 1]
    # Delivered again, with an item that got the contact since: only that one gets the record
    late = items.create_item("acme", "lead", {"title": "Late", "emails": ["buyer@client.test"]})
    again = noted()
    apply_trigger_event(
        event(contact=BUYER), found=items.find_by_contact("acme", "buyer@client.test", None), per_item=again
    )
    assert again.written == 1
    assert [notes(item) for item in (crm["open"], crm["won"], crm["lead"], late)] == [1, 1, 1, 1]
    assert len(journal_of(crm["open"])) == 1


def test_records_on_items_an_event_by_reference_reaches_and_the_found_ones(crm):
    from crm.service import items
    from crm.service.triggers import apply_trigger_event

    found = [s for s in items.find_by_contact("acme", "buyer@client.test", None) if s.type == "lead"]
    per_item = noted()
    (applied,) = apply_trigger_event(
        event(item=ItemRef("deal", crm["open"].id)), found=found, per_item=per_item
    )
    assert applied.moved and per_item.written == 2
    assert (notes(crm["open"]), notes(crm["lead"]), notes(crm["won"])) == (1, 1, 0)


def test_more_records_than_a_transaction_holds_are_written_in_transactions_of_their_own(crm, dynamodb):
    from crm.service import items
    from crm.service.triggers import apply_trigger_event

    stranger = Contact("email", "many@client.test")
    for n in range(60):
        items.create_item("acme", "lead", {"title": f"Lead {n}", "emails": ["many@client.test"]})
    found = items.find_by_contact("acme", "many@client.test", None)
    per_item = noted()
    dynamodb.calls.clear()
    (applied,) = apply_trigger_event(event(contact=stranger), found=found, per_item=per_item)
    # no webhook trigger on leads: the answers read, the tenant's entry with most, the rest alone
    assert applied.outcome.value == "no_item" and per_item.written == 60
    assert operations(dynamodb) == ["Query", "TransactWriteItems", "TransactWriteItems"]
    assert all(notes(replace(crm["lead"], id=s.id)) == 1 for s in found)
