"""Conditional writes under concurrency: no update is lost, every change has its timeline entry.
(moto gets DynamoDB's isolation from ``infra.moto_dynamodb``, installed by tests/conftest.py.)"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest

from crm.domain.errors import StaleWrite


def _pipeline():
    from crm.service import configuration

    stages = [{"name": f"Stage {n}"} for n in range(1, 9)]
    configuration.create_pipeline("acme", {"item_type": "deal", "name": "Sales", "stages": stages})


def test_concurrent_field_updates_each_win_or_are_told_to_retry(aws):
    from crm.adapters import items as store
    from crm.service import items

    _pipeline()
    item = items.create_item("acme", "deal", {"title": "Shared"})

    def bump(n: int) -> int:
        won = 0
        for attempt in range(50):
            try:
                current = store.get("acme", "deal", item.id)
                items.update_item(
                    "acme",
                    "deal",
                    item.id,
                    {"fields": {}, "title": f"t{n}-{attempt}"},
                    expected_version=current.version,
                )
                won += 1
                return won
            except StaleWrite:
                continue
        return won

    with ThreadPoolExecutor(max_workers=8) as pool:
        wins = sum(pool.map(bump, range(16)))
    final = store.get("acme", "deal", item.id)
    entries, _ = store.timeline("acme", final, 100, None)
    changes = [e for e in entries if e.kind.value == "fields_changed"]
    assert wins == 16
    assert final.version == 1 + wins
    assert len(changes) == wins
    # Each entry records the value it replaced: together they form one unbroken history.
    titles = [
        (e.data["changes"]["title"]["old"], e.data["changes"]["title"]["new"]) for e in reversed(changes)
    ]
    assert all(prev[1] == nxt[0] for prev, nxt in itertools.pairwise(titles))


def test_concurrent_stage_moves_converge_to_one_stage_with_a_complete_history(aws):
    from crm.adapters import items as store
    from crm.domain.model import Cause, CauseKind
    from crm.domain.transitions import MoveRequest
    from crm.service import items

    _pipeline()
    item = items.create_item("acme", "deal", {"title": "Contested"})
    targets = [f"stage_{n}" for n in range(2, 9)] * 3

    def move(target: str) -> str:
        request = MoveRequest(target, Cause(CauseKind.TRIGGER, ref=f"t-{target}"), allow_backwards=True)
        for _ in range(50):
            try:
                items.move_stage("acme", "deal", item.id, request)
                return "moved"
            except StaleWrite:
                continue
        return "gave up"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(move, targets))
    assert "gave up" not in outcomes
    final = store.get("acme", "deal", item.id)
    entries, _ = store.timeline("acme", final, 100, None)
    moves = [(e.data["from"], e.data["to"]) for e in reversed(entries) if e.kind.value == "stage_changed"]
    assert final.version == 1 + len(moves)
    # The history is a chain from the first stage to the stage the item is in now.
    assert moves[0][0] == "stage_1" and moves[-1][1] == final.stage_id
    assert all(a[1] == b[0] for a, b in itertools.pairwise(moves))


def test_an_automatic_move_that_is_refused_is_journaled_on_the_timeline(aws):
    from crm.adapters import items as store
    from crm.domain.errors import MoveRefused
    from crm.domain.model import Cause, CauseKind
    from crm.domain.transitions import MAX_CHAIN_DEPTH, MoveRequest
    from crm.service import items

    _pipeline()
    item = items.create_item("acme", "deal", {"title": "Looping"})
    items.move_stage("acme", "deal", item.id, MoveRequest("stage_3", Cause(CauseKind.API)))
    back = MoveRequest("stage_2", Cause(CauseKind.TRIGGER, ref="trigger-7"))
    with pytest.raises(MoveRefused):
        items.move_stage("acme", "deal", item.id, back)
    deep = MoveRequest("stage_5", Cause(CauseKind.ROBOT, ref="robot-1", chain=("r",) * MAX_CHAIN_DEPTH))
    with pytest.raises(MoveRefused):
        items.move_stage("acme", "deal", item.id, deep)
    final = store.get("acme", "deal", item.id)
    entries, _ = store.timeline("acme", final, 100, None)
    refused = [e.data for e in entries if e.kind.value == "move_refused"]
    assert [(r["to"], r["reason"], r["cause"]["ref"]) for r in refused] == [
        ("stage_5", "chain_too_deep", "robot-1"),
        ("stage_2", "backwards", "trigger-7"),
    ]
    assert final.stage_id == "stage_3" and final.version == 2


def test_two_first_pipelines_of_a_type_at_once_make_one_default(aws, monkeypatch):
    from crm.adapters import automation
    from crm.service import configuration

    first = configuration.create_pipeline(
        "acme", {"item_type": "deal", "name": "Retail", "stages": [{"name": "A"}]}
    )
    # The second request read "no default yet" before the first one wrote it.
    monkeypatch.setattr(automation, "default_pipeline_id", lambda tenant, item_type: None)
    second = configuration.create_pipeline(
        "acme", {"item_type": "deal", "name": "Online", "stages": [{"name": "A"}]}
    )
    monkeypatch.undo()
    assert (first.is_default, second.is_default) == (True, False)
    assert configuration.default_pipeline("acme", "deal").id == "retail"
    assert [p.is_default for p in automation.list_pipelines("acme", "deal")].count(True) == 1


def test_deleting_the_default_pipeline_hands_the_default_to_another(aws):
    from crm.service import configuration, items

    for name in ("Retail", "Online", "Wholesale"):
        configuration.create_pipeline("acme", {"item_type": "deal", "name": name, "stages": [{"name": "A"}]})
    configuration.delete_pipeline("acme", "retail")
    successor = configuration.default_pipeline("acme", "deal")
    assert successor.id in ("online", "wholesale") and successor.is_default
    created = items.create_item("acme", "deal", {"title": "No pipeline named"})
    assert created.pipeline_id == successor.id
    items.delete_item("acme", "deal", created.id)
    configuration.delete_pipeline("acme", "online")
    configuration.delete_pipeline("acme", "wholesale")
    with pytest.raises(Exception, match="no deal pipeline yet"):
        configuration.default_pipeline("acme", "deal")
