"""A source's own records written with the trigger engine's first write for its event (``along``),
against moto: in the first item's transaction, the tenant-level entry's, or the created item's;
once per event whatever the deliveries; a companion's failed condition refusing the whole write
with the source's error, and a redelivery answered as one even then."""

from __future__ import annotations

from functools import cache

import pytest

from crm.domain.errors import CrmError
from crm.domain.trigger_events import Contact, ItemRef
from tests.integration.dynamodb_faults import dynamodb_faults  # noqa: F401 - a fixture
from tests.integration.test_apply_trigger_events import BUYER, event, journal_of, stage, tenant_journal
from tests.integration.test_apply_trigger_events import crm as crm

STRANGER = Contact("email", "stranger@else.test")


class Full(CrmError):
    """The source's meaning of its counter's limit."""


@cache
def _counter_record():
    from pynamodb.attributes import NumberAttribute

    from crm.adapters.tables import ItemsTableRecord

    class CounterRecord(ItemsTableRecord):
        taken = NumberAttribute(null=True)

    return CounterRecord


def counted(limit: int = 10):
    """A source's record as a rate count is: one more, refused with Full at ``limit``."""
    from crm.adapters.along import Write

    record_class = _counter_record()
    record = record_class(pk="acme#SOURCE#counter", sk="COUNT")
    actions = [record_class.taken.add(1), record_class.kind.set("count"), record_class.tenant_id.set("acme")]
    within = record_class.taken.does_not_exist() | (record_class.taken < limit)
    return [Write(record, actions, within, Full(f"{limit} taken"))]


def taken() -> int:
    from crm.adapters.tables import ItemsTableRecord

    record_class = _counter_record()
    for record in record_class.query("acme#SOURCE#counter"):
        return int(record.taken)
    assert not list(ItemsTableRecord.query("acme#SOURCE#counter"))
    return 0


def test_the_records_go_with_the_first_items_decision_once_in_its_one_transaction(crm, dynamodb):
    from crm.service import items
    from crm.service.triggers import apply_trigger_event

    other = items.create_item("acme", "deal", {"title": "Second", "emails": ["buyer@client.test"]})
    apply_trigger_event(event("warm", contact=STRANGER))  # the pipelines cached
    dynamodb.calls.clear()

    first = apply_trigger_event(event(contact=BUYER), along=counted())

    assert [operation for operation, _ in dynamodb.calls] == [
        "Query",
        "BatchGetItem",
        "TransactWriteItems",
        "TransactWriteItems",
    ]
    assert [a.moved for a in first] == [True, True] and stage(other) == "offer_viewed"
    assert taken() == 1  # with the first item's decision, not with each
    # A redelivery answers the same and writes them no more
    assert apply_trigger_event(event(contact=BUYER), along=counted()) == first
    assert taken() == 1


def test_a_companions_refusal_refuses_the_write_with_its_error_and_nothing_is_written(crm):
    from crm.service.triggers import apply_trigger_event

    apply_trigger_event(event("before", item=ItemRef("deal", "999")), along=counted(limit=1))
    assert taken() == 1

    with pytest.raises(Full):
        apply_trigger_event(event(contact=BUYER), along=counted(limit=1))

    assert stage(crm["open"]) == "new" and journal_of(crm["open"]) == []
    assert taken() == 1
    # Nothing recorded the event as applied: delivered again within the limit, it applies
    (applied,) = apply_trigger_event(event(contact=BUYER), along=counted(limit=2))
    assert applied.moved and taken() == 2


def test_a_redelivery_is_answered_as_one_even_past_the_companions_limit(crm):
    from crm.service.triggers import apply_trigger_event

    first = apply_trigger_event(event(contact=BUYER), along=counted(limit=1))
    assert apply_trigger_event(event(contact=BUYER), along=counted(limit=1)) == first
    assert taken() == 1


def test_an_event_that_reaches_no_item_writes_them_with_the_tenants_entry(crm):
    from crm.service.triggers import apply_trigger_event, journal_unapplied

    (none,) = apply_trigger_event(event(item=ItemRef("deal", "999")), along=counted())
    assert none.outcome.value == "no_item" and taken() == 1
    (unapplied,) = [journal_unapplied(event("bot", contact=STRANGER), "a bot", along=counted())]
    assert unapplied.outcome.value == "no_item" and taken() == 2
    assert len(tenant_journal()) == 2
    # The caller's own request naming an unknown item: NotFound, and nothing written
    from crm.domain.errors import NotFound

    with pytest.raises(NotFound):
        apply_trigger_event(
            event("mine", item=ItemRef("deal", "998")), along=counted(), unknown_item_is_an_error=True
        )
    assert taken() == 2


def test_a_redelivery_whose_first_write_is_another_does_not_write_them_again(crm):
    from crm.service import items
    from crm.service.triggers import apply_trigger_event

    # First delivered when the contact had no item; the records went with the tenant's entry
    (first,) = apply_trigger_event(event(contact=STRANGER), along=counted())
    assert first.outcome.value == "no_item" and taken() == 1
    deal = items.create_item("acme", "deal", {"title": "Late", "emails": ["stranger@else.test"]})

    # Delivered again: the new deal is reached, and the records are not written twice
    (again,) = apply_trigger_event(event(contact=STRANGER), along=counted())

    assert again.moved and stage(deal) == "offer_viewed" and taken() == 1


def test_the_records_go_with_the_item_created_for_the_event_and_a_refusal_creates_none(crm):
    from crm.service import items
    from crm.service.triggers import NewItem, apply_to_new_item, apply_trigger_event

    new_deal = NewItem("deal", {"title": "Enquiry", "pipeline_id": "sales", "emails": ["stranger@else.test"]})
    anonymous = NewItem("deal", {"title": "Callback", "pipeline_id": "sales"})
    apply_trigger_event(event("before", item=ItemRef("deal", "999")), along=counted(limit=1))

    with pytest.raises(Full):
        apply_trigger_event(event(contact=STRANGER), new_item=new_deal, along=counted(limit=1))
    with pytest.raises(Full):
        apply_to_new_item(event("every", contact=STRANGER), anonymous, along=counted(limit=1))

    deals, _, _ = items.list_items("acme", "deal", "sales", None, 100, None)
    assert sorted(d.title for d in deals) == ["Crane", "Forklift"] and taken() == 1
    (created,) = apply_trigger_event(event(contact=STRANGER), new_item=new_deal, along=counted(limit=2))
    assert created.created and created.moved and taken() == 2
    (made,) = apply_to_new_item(event("every", contact=STRANGER), anonymous, along=counted(limit=3))
    assert made.created and made.item != created.item and taken() == 3
    # Redelivered: the same items, the records not written again
    assert apply_to_new_item(event("every", contact=STRANGER), anonymous, along=counted(limit=3)) == [made]
    assert apply_trigger_event(event(contact=STRANGER), new_item=new_deal, along=counted()) == [created]
    assert taken() == 3
