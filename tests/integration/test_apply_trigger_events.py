"""apply_trigger_event against moto: items by reference and by contact, one transaction per item
with its journal and the event's once-record, stale copies decided again, redeliveries answered
from the once-records, events that reach no item journaled for the tenant, and the fan-out blind
to journal and once records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm.domain.trigger_events import Contact, ItemRef, TriggerEvent
from tests.conftest import lambda_context, load_handler
from tests.integration.conftest import drain
from tests.integration.dynamodb_faults import dynamodb_faults  # noqa: F401 - a fixture
from tests.integration.test_stream_fanout import stream_event

STAGES = [
    {"name": "New"},
    {"name": "Offer viewed"},
    {"name": "Won", "semantic": "success"},
    {"name": "Lost", "semantic": "failure"},
]


@pytest.fixture
def crm(aws):
    """Tenant acme: deals in "sales" (a webhook trigger on "Offer viewed"), leads in "leads" (no
    trigger); the contact buyer@client.test has an open deal, a won deal and a lead."""
    from crm.service import configuration, items, rules

    configuration.create_employee("acme", {"id": "anna", "name": "Anna", "email": "anna@acme.test"})
    configuration.create_pipeline(
        "acme", {"id": "sales", "item_type": "deal", "name": "Sales", "stages": STAGES}
    )
    configuration.create_pipeline(
        "acme", {"id": "leads", "item_type": "lead", "name": "Leads", "stages": STAGES}
    )
    rule = {"type_code": "webhook", "stage_id": "offer_viewed", "params": {"code": "viewed"}}
    rules.create_rule("acme", "deal", "sales", rules.RuleKind.TRIGGER, rule)
    contact = {"emails": ["buyer@client.test"], "responsible_id": "anna"}
    open_deal = items.create_item("acme", "deal", {"title": "Forklift", **contact})
    won = items.create_item("acme", "deal", {"title": "Crane", **contact})
    items.manual_move("acme", "deal", won.id, "won", None, False)
    lead = items.create_item("acme", "lead", {"title": "Pallets", **contact})
    return {"open": open_deal, "won": won, "lead": lead}


def event(event_id="hook-1", item=None, contact=None, code="viewed") -> TriggerEvent:
    return TriggerEvent(
        type="webhook",
        source="webhook",
        event_id=event_id,
        tenant_id="acme",
        occurred_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        item=item,
        contact=contact,
        data={"code": code},
    )


BUYER = Contact("email", "Buyer@Client.test")


def stage(item) -> str:
    from crm.service import items

    return items.get_item("acme", item.type, item.id).stage_id


def journal_of(item) -> list[dict]:
    from crm.service import triggers

    return triggers.item_journal("acme", item.type, item.id, 50, None)[0]


def tenant_journal() -> list[dict]:
    from crm.service import triggers

    return triggers.tenant_journal("acme", None, None, 50, None)[0]


def test_an_event_naming_its_item_costs_a_read_and_one_transaction(crm, dynamodb):
    from crm.service.triggers import apply_trigger_event

    dynamodb.calls.clear()
    (applied,) = apply_trigger_event(event(item=ItemRef("deal", crm["open"].id)))
    assert applied.moved and applied.to_dict()["stage_id"] == "offer_viewed"
    assert [operation for operation, _ in dynamodb.calls] == ["GetItem", "TransactWriteItems"]


def test_a_contact_event_reaches_the_open_items_in_pipelines_with_triggers_of_its_type(crm):
    from crm.service.triggers import apply_trigger_event

    applied = apply_trigger_event(event(contact=BUYER))

    assert [(a.item.type, a.item.id, a.moved) for a in applied] == [("deal", crm["open"].id, True)]
    assert stage(crm["open"]) == "offer_viewed"
    assert stage(crm["won"]) == "won" and journal_of(crm["won"]) == []  # closed: left out
    assert stage(crm["lead"]) == "new" and journal_of(crm["lead"]) == []  # no webhook triggers
    assert [e["outcome"] for e in journal_of(crm["open"])] == ["moved"]
    assert tenant_journal() == []


def test_a_redelivered_contact_event_changes_nothing_and_answers_the_same(crm):
    from crm.service import items
    from crm.service.triggers import apply_trigger_event

    first = apply_trigger_event(event(contact=BUYER))
    items.manual_move("acme", "deal", crm["open"].id, "new", None, True)
    again = apply_trigger_event(event(contact=BUYER))
    assert again == first
    assert stage(crm["open"]) == "new"
    assert len(journal_of(crm["open"])) == 1


def test_an_unknown_contact_is_journaled_for_the_tenant_once(crm):
    from crm.service.triggers import apply_trigger_event

    stranger = Contact("email", "stranger@else.test")
    (first,) = apply_trigger_event(event(contact=stranger))
    (again,) = apply_trigger_event(event(contact=stranger))
    assert first.outcome.value == "no_item" and again == first
    (entry,) = tenant_journal()
    assert entry["outcome"] == "no_item" and entry["note"] == "no item has email stranger@else.test"
    assert entry["event"]["contact"] == {"kind": "email", "value": "stranger@else.test"}


def test_an_unknown_contact_gets_the_new_item_its_source_creates_once_and_the_triggers_apply(crm):
    from crm.service import items
    from crm.service.triggers import NewItem, apply_trigger_event

    stranger = Contact("email", "stranger@else.test")
    new_deal = NewItem("deal", {"title": "Enquiry", "pipeline_id": "sales", "emails": ["stranger@else.test"]})
    (first,) = apply_trigger_event(event(contact=stranger), new_item=new_deal)
    (again,) = apply_trigger_event(event(contact=stranger), new_item=new_deal)
    assert first.created and first.moved and again == first
    (created,) = items.find_by_contact("acme", "stranger@else.test", None)
    assert (first.item.type, first.item.id) == ("deal", created.id)
    assert stage(first.item) == "offer_viewed"
    assert [e["outcome"] for e in journal_of(first.item)] == ["moved"]
    assert tenant_journal() == []


def test_a_returning_contact_whose_items_are_all_closed_gets_a_new_item_once(crm):
    from crm.service import items
    from crm.service.triggers import NewItem, apply_trigger_event

    # Given a customer whose only deal was won long ago
    old = items.create_item("acme", "deal", {"title": "Old order", "emails": ["back@client.test"]})
    items.manual_move("acme", "deal", old.id, "won", None, False)
    back = Contact("email", "back@client.test")
    new_deal = NewItem(
        "deal", {"title": "Repeat order", "pipeline_id": "sales", "emails": ["back@client.test"]}
    )
    # When the source's event comes, twice
    (first,) = apply_trigger_event(event(contact=back), new_item=new_deal)
    (again,) = apply_trigger_event(event(contact=back), new_item=new_deal)
    # Then a new deal was created once, and the trigger moved it
    assert first.created and first.moved and again == first
    assert sorted(s.id for s in items.find_by_contact("acme", "back@client.test", None)) == sorted(
        [old.id, first.item.id]
    )
    assert stage(first.item) == "offer_viewed" and stage(old) == "won"


def test_a_contact_with_an_open_item_gets_no_new_one(crm):
    from crm.service import items
    from crm.service.triggers import NewItem, apply_trigger_event

    new_deal = NewItem(
        "deal", {"title": "Duplicate", "pipeline_id": "sales", "emails": ["buyer@client.test"]}
    )
    applied = apply_trigger_event(event(contact=BUYER), new_item=new_deal)
    assert [a.item.id for a in applied] == [crm["open"].id] and not applied[0].created
    assert len(items.find_by_contact("acme", "buyer@client.test", None)) == 3


def test_an_unknown_contact_whose_new_item_is_refused_is_journaled_and_nothing_is_created(crm):
    from crm.service import items
    from crm.service.triggers import NewItem, apply_trigger_event

    stranger = Contact("email", "stranger@else.test")
    nowhere = NewItem("deal", {"title": "Enquiry", "pipeline_id": "no_such_pipeline"})
    (applied,) = apply_trigger_event(event(contact=stranger), new_item=nowhere)
    assert applied.outcome.value == "no_item" and not applied.created
    assert items.find_by_contact("acme", "stranger@else.test", None) == []
    assert "creating one was refused" in tenant_journal()[0]["note"]


def test_a_contact_whose_items_have_no_such_trigger_is_journaled_for_the_tenant(crm):
    from crm.service import items
    from crm.service.triggers import apply_trigger_event

    items.create_item("acme", "lead", {"title": "Only a lead", "phones": ["+4930123456"]})
    (applied,) = apply_trigger_event(event(contact=Contact("phone", "+49 30 123456")))
    assert applied.outcome.value == "no_item"
    assert "in a pipeline with webhook triggers" in tenant_journal()[0]["note"]


def test_a_missing_item_named_by_reference_is_journaled_or_refused(crm):
    from crm.domain.errors import NotFound
    from crm.service.triggers import apply_trigger_event

    with pytest.raises(NotFound):
        apply_trigger_event(event(item=ItemRef("deal", "404")), unknown_item_is_an_error=True)
    assert tenant_journal() == []
    (applied,) = apply_trigger_event(event(item=ItemRef("deal", "404")))
    assert applied.outcome.value == "no_item"
    assert tenant_journal()[0]["note"] == "deal/404 does not exist"


def test_an_item_whose_pipeline_has_no_trigger_of_the_type_is_journaled_on_it_and_the_tenant(crm):
    from crm.service.triggers import apply_trigger_event

    (applied,) = apply_trigger_event(event(item=ItemRef("lead", crm["lead"].id)))
    assert applied.outcome.value == "no_trigger_of_type" and not applied.moved
    assert [e["outcome"] for e in journal_of(crm["lead"])] == ["no_trigger_of_type"]
    assert [e["item"] for e in tenant_journal()] == [f"lead/{crm['lead'].id}"]


def test_a_trigger_added_by_another_container_fires_on_the_fresh_pipeline(crm):
    from crm.adapters import automation
    from crm.service import rules
    from crm.service.triggers import apply_trigger_event

    kept = automation.load("acme", "leads")
    rule = {"type_code": "webhook", "stage_id": "offer_viewed", "params": {"code": "viewed"}}
    rules.create_rule("acme", "lead", "leads", rules.RuleKind.TRIGGER, rule)
    automation._cache[("acme", "leads")] = kept  # this container still keeps the pipeline without it

    applied = apply_trigger_event(event(contact=BUYER))

    assert {(a.item.type, a.moved) for a in applied} == {("deal", True), ("lead", True)}
    assert stage(crm["lead"]) == "offer_viewed"
    assert tenant_journal() == []


def test_an_item_moved_meanwhile_is_decided_again(crm, monkeypatch):
    from crm.adapters import items as item_store
    from crm.service import items
    from crm.service.triggers import apply_trigger_event

    stale = item_store.get("acme", "deal", crm["open"].id)
    items.manual_move("acme", "deal", crm["open"].id, "lost", None, False)  # another request closes it
    reads = iter([stale])
    real_get = item_store.get
    monkeypatch.setattr(item_store, "get", lambda *key: next(reads, None) or real_get(*key))

    (applied,) = apply_trigger_event(event(item=ItemRef("deal", crm["open"].id)))

    assert not applied.moved and stage(crm["open"]) == "lost"
    (entry,) = journal_of(crm["open"])
    assert [v["verdict"] for v in entry["verdicts"]] == ["item_closed"]


def test_journal_entries_and_once_records_expire(crm):
    from crm.adapters import journal
    from crm.adapters.tables import JournalRecord, OnceRecord
    from crm.service.triggers import apply_trigger_event

    (applied,) = apply_trigger_event(event(item=ItemRef("deal", crm["open"].id)))
    kept = int((applied.at + timedelta(days=90)).timestamp())
    assert journal.KEPT.days == 90  # the template's JOURNAL_KEPT_DAYS
    records = [*JournalRecord.scan(JournalRecord.kind == "journal")]
    assert len(records) == 2 and {r.expires_at for r in records} == {kept}
    (once,) = OnceRecord.scan(OnceRecord.kind == "once")
    assert once.expires_at == kept


def test_the_fan_out_publishes_item_events_only_never_journal_or_once_records(crm, bus):
    from crm.service.triggers import apply_trigger_event

    sqs, queues = bus
    drain(sqs, queues["everything"])
    apply_trigger_event(event(item=ItemRef("deal", crm["open"].id)))
    apply_trigger_event(event("hook-2", contact=Contact("email", "stranger@else.test")))
    records = stream_event(1000)["Records"]
    kinds = {r["dynamodb"].get("NewImage", {}).get("kind", {}).get("S") for r in records}
    assert {"journal", "once"} <= kinds

    assert load_handler("fanout").lambda_handler({"Records": records}, lambda_context()) == {
        "batchItemFailures": []
    }

    published = [(e["detail-type"], e["detail"]["item_type"]) for e in drain(sqs, queues["everything"])]
    # the setup's three creates and a move, then the trigger's move: nothing for the journal
    assert published.count(("StageChanged", "deal")) == 2
    assert {kind for kind, _ in published} == {"ItemCreated", "StageChanged"}
