"""Small builders for domain objects, so each test states only what it is about."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from crm.domain.model import Item, Pipeline, Stage, StageSemantic

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def stage(id: str, sort: int, semantic: StageSemantic = StageSemantic.IN_PROGRESS, **kw: Any) -> Stage:
    return Stage(
        id=id,
        name=kw.pop("name", id.title()),
        color=kw.pop("color", "#39A8EF"),
        sort=sort,
        semantic=semantic,
        **kw,
    )


def sales_pipeline(**kw: Any) -> Pipeline:
    """NEW -> WORK -> PREP -> WON (success) | LOST (failure)."""
    stages = (
        stage("NEW", 10),
        stage("WORK", 20),
        stage("PREP", 30),
        stage("WON", 40, StageSemantic.SUCCESS),
        stage("LOST", 50, StageSemantic.FAILURE),
    )
    return Pipeline(**{"id": "sales", "item_type": "deal", "name": "Sales", "stages": stages} | kw)


def deal(stage_id: str = "NEW", **kw: Any) -> Item:
    values: dict[str, Any] = {
        "type": "deal",
        "id": "d-1",
        "pipeline_id": "sales",
        "stage_id": stage_id,
        "title": "Ten laptops",
        "created_at": T0,
        "updated_at": T0,
        "amount": 12_000.0,
        "currency": "EUR",
    }
    return Item(**values | kw)


def edited(item: Item, **changes: Any) -> Item:
    return replace(item, **changes)
