"""The bus events derived from an item before and after one write (one stream record)."""

from __future__ import annotations

from datetime import timedelta

from crm.domain.events import item_events
from crm.domain.model import Cause, CauseKind
from crm.domain.transitions import MoveRequest, moved
from tests.unit.builders import T0, deal, edited, sales_pipeline

RECORD = "4b1c6e2f0d9a8e7f6a5b4c3d2e1f0a9b"  # the stream record's eventID
LATER = T0 + timedelta(minutes=3)


def head(item, event_id: str) -> dict:
    return {
        "event_id": event_id,
        "tenant_id": "acme",
        "item_type": item.type,
        "item_id": item.id,
        "pipeline_id": item.pipeline_id,
        "stage_id": item.stage_id,
        "version": item.version,
    }


def stage_move(item, to: str, **changes):
    cause = Cause(CauseKind.TRIGGER, "trg-paid", ("stripe:evt_1",))
    after, _ = moved(item, sales_pipeline().stage(to), MoveRequest(to, cause, by="emp-3"), LATER, "tl-1")
    return edited(after, version=item.version + 1, **changes)


def test_a_new_item_is_created():
    item = deal()
    [event] = item_events("acme", None, item, RECORD)
    assert event.detail_type == "ItemCreated"
    assert event.detail == head(item, RECORD) | {
        "title": "Ten laptops",
        "cause": None,
        "cause_ref": None,
        "chain": [],
        "at": T0.isoformat(),
    }


def test_an_item_a_robot_created_carries_the_robots_cause_and_chain():
    # A robot copying items: the copy's robots continue the chain, so copies of copies stop.
    item = deal(last_change=Cause(CauseKind.ROBOT, "copy", ("trigger:paid",)))
    [event] = item_events("acme", None, item, RECORD)
    assert (event.detail["cause"], event.detail["cause_ref"], event.detail["chain"]) == (
        "robot",
        "copy",
        ["trigger:paid"],
    )


def test_a_deleted_item_is_deleted():
    item = deal("WORK", version=4)
    [event] = item_events("acme", item, None, RECORD)
    assert event.detail_type == "ItemDeleted"
    assert event.detail == head(item, RECORD)


def test_changed_fields_are_an_update_with_old_and_new_values():
    before = deal(fields={"source": "web", "city": "Berlin"})
    after = edited(
        before,
        title="Twelve laptops",
        amount=14_400.0,
        fields={"source": "call"},
        version=2,
        updated_at=LATER,
        last_change=Cause(CauseKind.API, "emp-3"),
    )

    [event] = item_events("acme", before, after, RECORD)

    assert event.detail_type == "ItemUpdated"
    assert event.detail == head(after, f"{RECORD}:fields") | {
        "changes": {
            "title": {"old": "Ten laptops", "new": "Twelve laptops"},
            "amount": {"old": 12_000.0, "new": 14_400.0},
            "fields.city": {"old": "Berlin", "new": None},
            "fields.source": {"old": "web", "new": "call"},
        },
        "cause": "api",
        "cause_ref": "emp-3",
        "chain": [],
        "at": LATER.isoformat(),
    }


def test_an_update_made_by_automation_carries_its_cause_and_chain():
    # A robot's change: triggers it fires continue its chain, so automation cannot loop for ever.
    before = deal()
    cause = Cause(CauseKind.ROBOT, "rob-7", ("trigger:trg-1",))
    after = edited(before, amount=20_000.0, version=2, updated_at=LATER, last_change=cause)

    [event] = item_events("acme", before, after, RECORD)

    assert (event.detail["cause"], event.detail["cause_ref"]) == ("robot", "rob-7")
    assert event.detail["chain"] == ["trigger:trg-1"]


def test_a_stage_move_alone_is_only_a_stage_change():
    before = deal("WORK")
    after = stage_move(before, "WON")

    [event] = item_events("acme", before, after, RECORD)

    assert event.detail_type == "StageChanged"
    assert event.detail == head(after, f"{RECORD}:stage") | {
        "from_stage": "WORK",
        "to_stage": "WON",
        "by": "emp-3",
        "cause": "trigger",
        "cause_ref": "trg-paid",
        "chain": ["stripe:evt_1"],
        "at": LATER.isoformat(),
    }


def test_a_write_that_moves_and_edits_is_an_update_and_a_stage_change():
    before = deal("NEW")
    after = stage_move(before, "PREP", responsible_id="emp-9")

    updated, changed = item_events("acme", before, after, RECORD)

    assert (updated.detail_type, changed.detail_type) == ("ItemUpdated", "StageChanged")
    assert updated.detail["changes"] == {"responsible_id": {"old": None, "new": "emp-9"}}
    assert changed.detail["to_stage"] == "PREP"


def test_event_ids_are_derived_from_the_stream_record_so_a_replay_repeats_them():
    before = deal("NEW")
    after = stage_move(before, "PREP", title="Renamed")

    first = item_events("acme", before, after, RECORD)
    replay = item_events("acme", before, after, RECORD)
    other = item_events("acme", before, after, "another-record")

    assert [e.detail["event_id"] for e in first] == [f"{RECORD}:fields", f"{RECORD}:stage"]
    assert replay == first
    assert [e.detail["event_id"] for e in other] == ["another-record:fields", "another-record:stage"]


def test_a_write_that_changes_nothing_a_user_edits_is_no_event():
    before = deal()
    after = edited(before, version=2, updated_at=LATER)
    assert item_events("acme", before, after, RECORD) == []
