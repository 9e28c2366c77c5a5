"""Automation rules on stages: triggers (move an item here when something happens) and robots (act
when an item enters here), and the catalogue of rule types with their parameter schemas.

A trigger or robot type is one small module that registers a ``RuleType`` in ``CATALOGUE``; the
trigger and robot issues fill it. Rules are stored with their common settings whatever the type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ValidationError

from crm.domain.conditions import Condition
from crm.domain.errors import Invalid
from crm.domain.model import Pipeline


class RuleKind(StrEnum):
    TRIGGER = "trigger"
    ROBOT = "robot"


@dataclass(frozen=True)
class RuleType:
    code: str
    kind: RuleKind
    title: str
    params: type[BaseModel]
    description: str = ""

    def describe(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "kind": self.kind.value,
            "title": self.title,
            "description": self.description,
            "params_schema": self.params.model_json_schema(),
        }


class Catalogue:
    def __init__(self) -> None:
        self._types: dict[tuple[RuleKind, str], RuleType] = {}

    def register(self, rule_type: RuleType) -> RuleType:
        key = (rule_type.kind, rule_type.code)
        if key in self._types:
            raise ValueError(f"{rule_type.kind} type {rule_type.code} is registered twice")
        self._types[key] = rule_type
        return rule_type

    def get(self, kind: RuleKind, code: str) -> RuleType:
        try:
            return self._types[(kind, code)]
        except KeyError:
            known = sorted(c for k, c in self._types if k is kind)
            raise Invalid(f"unknown {kind} type {code!r}; known types: {known}") from None

    def validated_params(self, kind: RuleKind, code: str, params: dict[str, Any]) -> dict[str, Any]:
        rule_type = self.get(kind, code)
        try:
            return rule_type.params.model_validate(params).model_dump(mode="json")
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'params'}: {e['msg']}" for e in error.errors()
            )
            raise Invalid(f"params of {kind} type {code!r}: {problems}") from None

    def types(self, kind: RuleKind | None = None) -> list[RuleType]:
        return [t for (k, _), t in sorted(self._types.items()) if kind is None or k is kind]


CATALOGUE = Catalogue()


class DelayKind(StrEnum):
    IMMEDIATE = "immediate"
    AFTER = "after"  # N minutes after entering the stage
    BEFORE_FIELD = "before_field"  # N minutes before a date field's value
    AFTER_FIELD = "after_field"  # N minutes after a date field's value


@dataclass(frozen=True)
class Delay:
    kind: DelayKind = DelayKind.IMMEDIATE
    minutes: int = 0
    field: str | None = None
    working_time: bool = False

    def __post_init__(self) -> None:
        if self.minutes < 0:
            raise Invalid("delay minutes must not be negative")
        needs_field = self.kind in (DelayKind.BEFORE_FIELD, DelayKind.AFTER_FIELD)
        if needs_field != (self.field is not None):
            raise Invalid(f"a {self.kind} delay {'needs' if needs_field else 'takes no'} field")


@dataclass(frozen=True)
class Retry:
    attempts: int = 0
    backoff_seconds: int = 60

    def __post_init__(self) -> None:
        if not 0 <= self.attempts <= 10:
            raise Invalid("retry attempts are 0 to 10")
        if not 1 <= self.backoff_seconds <= 86_400:
            raise Invalid("retry backoff is 1 second to 1 day")


@dataclass(frozen=True)
class Repeat:
    every_minutes: int
    times: int

    def __post_init__(self) -> None:
        if self.every_minutes < 1 or not 1 <= self.times <= 100:
            raise Invalid("repeat every 1+ minutes, 1 to 100 times")


@dataclass(frozen=True)
class Rule:
    """A trigger or robot on one stage of one pipeline."""

    id: str
    kind: RuleKind
    type_code: str
    name: str
    stage_id: str
    params: dict[str, Any] = field(default_factory=dict)
    condition: Condition | None = None
    run_as: str | None = None
    sort: int = 0
    # triggers
    allow_backwards: bool = False
    # robots
    delay: Delay = Delay()
    after_previous: bool = False
    retry: Retry = Retry()
    repeat: Repeat | None = None

    def __post_init__(self) -> None:
        if self.kind is RuleKind.TRIGGER and (
            self.delay != Delay() or self.after_previous or self.retry != Retry() or self.repeat
        ):
            raise Invalid("delay, after_previous, retry and repeat are robot settings")
        if self.kind is RuleKind.ROBOT and self.allow_backwards:
            raise Invalid("allow_backwards is a trigger setting")


@dataclass(frozen=True)
class PipelineConfig:
    """A pipeline with every rule on its stages: what one query loads and a warm container keeps."""

    pipeline: Pipeline
    rules: tuple[Rule, ...] = ()

    @property
    def version(self) -> int:
        return self.pipeline.version

    def rules_on(self, stage_id: str, kind: RuleKind) -> list[Rule]:
        return sorted(
            (r for r in self.rules if r.stage_id == stage_id and r.kind is kind), key=lambda r: r.sort
        )

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)
