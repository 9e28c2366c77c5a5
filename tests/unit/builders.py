"""Small builders for domain objects, so each test states only what it is about."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import crm.triggers  # noqa: F401  (registers the trigger types)
from crm.domain.errors import Invalid
from crm.domain.model import Item, Pipeline, Stage, StageSemantic
from crm.domain.rules import CATALOGUE, Rule, RuleKind
from crm.domain.trigger_events import ItemRef, TriggerEvent

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


def trigger(id: str, stage_id: str, type_code: str = "webhook", **kw: Any) -> Rule:
    """A trigger on ``stage_id``; a webhook trigger (fired by every call) unless told otherwise."""
    name = kw.pop("name", f"{type_code} to {stage_id}")
    return Rule(id=id, kind=RuleKind.TRIGGER, type_code=type_code, name=name, stage_id=stage_id, **kw)


def trigger_event(type: str = "webhook", data: dict[str, Any] | None = None, **kw: Any) -> TriggerEvent:
    """An event of ``type`` that names deal d-1 of tenant acme, as a webhook call would."""
    values: dict[str, Any] = {
        "type": type,
        "source": "webhook",
        "event_id": "req-1",
        "tenant_id": "acme",
        "occurred_at": T0,
        "item": ItemRef("deal", "d-1"),
        "data": {} if data is None else data,
    }
    return TriggerEvent(**values | kw)


def fires(type_code: str, data: dict[str, Any], params: dict[str, Any] | None = None) -> bool:
    """Whether an event of ``type_code`` carrying ``data`` fires a trigger with ``params``, the
    params stored as rule creation stores them (validated, in their JSON form)."""
    stored = CATALOGUE.validated_params(RuleKind.TRIGGER, type_code, params or {})
    return CATALOGUE.get(RuleKind.TRIGGER, type_code).matches(trigger_event(type_code, data), stored)


def refused_params(type_code: str, params: dict[str, Any]) -> str:
    """The message with which rule creation refuses ``params`` for a trigger of ``type_code``."""
    try:
        CATALOGUE.validated_params(RuleKind.TRIGGER, type_code, params)
    except Invalid as error:
        return str(error)
    raise AssertionError(f"{params} were accepted for {type_code}")
