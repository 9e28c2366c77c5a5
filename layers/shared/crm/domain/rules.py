"""Automation rules on stages: triggers (move an item here when something happens) and robots (act
when an item enters here), and the catalogue of rule types with their parameter schemas.

A trigger or robot type is one small module, named after its code, in ``crm.triggers`` or
``crm.robots``, that registers a ``RuleType`` in ``CATALOGUE``. Rules are stored with their common
settings whatever the type.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ValidationError

from crm.domain import conditions
from crm.domain.conditions import Condition
from crm.domain.delays import Delay, DelayKind  # noqa: F401 - DelayKind: importable from here too
from crm.domain.errors import Invalid
from crm.domain.model import Pipeline
from crm.domain.trigger_events import TriggerEvent


class RuleKind(StrEnum):
    TRIGGER = "trigger"
    ROBOT = "robot"


def _validated(model: type[BaseModel], values: Any, name: str, of: str) -> Any:
    """``values`` as an instance of ``model``; Invalid listing every problem with its location."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or name}: {e['msg']}" for e in error.errors()
        )
        raise Invalid(f"{name} of {of}: {problems}") from None


@dataclass(frozen=True)
class RuleType:
    """A kind of trigger or robot: the schema of its params, and its behaviour.

    A trigger type says which events fire it: ``event_data`` is the model of the data its events
    carry, ``match`` tests that data against one trigger's params (both validated by ``matches``).
    A robot type says how it runs: ``run(context, item, params)`` (``crm.domain.robots``) answers
    its outputs, of the model ``outputs``, which later robots of the stage read in their templates."""

    code: str
    kind: RuleKind
    title: str
    params: type[BaseModel]
    description: str = ""
    event_data: type[BaseModel] | None = None
    match: Callable[[Any, Any], bool] | None = None
    run: Callable[..., Any] | None = None
    outputs: type[BaseModel] | None = None

    def __post_init__(self) -> None:
        trigger = self.kind is RuleKind.TRIGGER
        if (self.event_data is not None) is not trigger or (self.match is not None) is not trigger:
            raise ValueError(
                f"{self.kind} type {self.code}: a trigger type has event_data and match, a robot neither"
            )
        if (self.run is not None) is trigger or (self.outputs is not None) is trigger:
            raise ValueError(
                f"{self.kind} type {self.code}: a robot type has run and outputs, a trigger neither"
            )

    def params_of(self, params: dict[str, Any]) -> Any:
        """The stored ``params`` of one rule of this type, as its params model."""
        return _validated(self.params, params, "params", f"{self.kind} type {self.code!r}")

    def outputs_of(self, outputs: Any) -> dict[str, Any]:
        """A robot's answer as its outputs model says, in JSON form; Invalid otherwise (a robot's bug)."""
        if self.outputs is None:
            raise TypeError(f"{self.kind} type {self.code} has no outputs")
        return _validated(self.outputs, dict(outputs), "outputs", f"robot type {self.code!r}").model_dump(
            mode="json"
        )

    def matches(self, event: TriggerEvent, params: dict[str, Any]) -> bool:
        """True if ``event`` fires a trigger of this type with these (stored) ``params``; Invalid if
        the event's data is not what events of this type carry."""
        if self.event_data is None or self.match is None:
            raise TypeError(f"{self.kind} type {self.code} is not fired by events")
        if event.type != self.code:
            return False
        data = _validated(self.event_data, event.data, "data", f"a {self.code!r} event")
        return self.match(data, _validated(self.params, params, "params", f"trigger type {self.code!r}"))

    def describe(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "kind": self.kind.value,
            "title": self.title,
            "description": self.description,
            "params_schema": self.params.model_json_schema(),
            "outputs_schema": self.outputs.model_json_schema() if self.outputs else None,
        }


class Catalogue:
    """The rule types, each loaded the first time it is asked for.

    A type's module is imported by its code from its kind's package, so that a function loads the
    types its events and rules use rather than every type and what they import (templates, the
    robots' helpers): that is a cold start's time. Listing the types loads them all."""

    def __init__(self, packages: dict[RuleKind, str] | None = None) -> None:
        self._packages = packages or {}  # none: only what is registered by hand
        self._types: dict[tuple[RuleKind, str], RuleType] = {}
        self._modules: dict[RuleKind, frozenset[str]] = {}

    def register(self, rule_type: RuleType) -> RuleType:
        key = (rule_type.kind, rule_type.code)
        if key in self._types:
            raise ValueError(f"{rule_type.kind} type {rule_type.code} is registered twice")
        self._types[key] = rule_type
        return rule_type

    def unregister(self, kind: RuleKind, code: str) -> None:
        """Forgets a type registered by hand (a test's own); a module's type stays."""
        if code in self.modules(kind):
            raise ValueError(f"{kind} type {code} is a module of the catalogue's: it stays")
        self._types.pop((kind, code), None)

    def modules(self, kind: RuleKind) -> frozenset[str]:
        """The names of the modules in ``kind``'s package (its types' and their helpers')."""
        if kind not in self._packages:
            return frozenset()
        if kind not in self._modules:
            package = importlib.import_module(self._packages[kind])
            self._modules[kind] = frozenset(m.name for m in pkgutil.iter_modules(package.__path__))
        return self._modules[kind]

    def _load(self, kind: RuleKind, code: str) -> None:
        # Only a module that is there: a code comes from stored rules, events and API bodies.
        if code in self.modules(kind):
            importlib.import_module(f"{self._packages[kind]}.{code}")

    def get(self, kind: RuleKind, code: str) -> RuleType:
        if (kind, code) not in self._types:
            self._load(kind, code)
        try:
            return self._types[(kind, code)]
        except KeyError:
            known = sorted(t.code for t in self.types(kind))
            raise Invalid(f"unknown {kind} type {code!r}; known types: {known}") from None

    def validated_params(self, kind: RuleKind, code: str, params: dict[str, Any]) -> dict[str, Any]:
        rule_type = self.get(kind, code)
        return _validated(rule_type.params, params, "params", f"{kind} type {code!r}").model_dump(mode="json")

    def types(self, kind: RuleKind | None = None) -> list[RuleType]:
        for each in self._packages if kind is None else (kind,):
            for name in sorted(self.modules(each)):
                self._load(each, name)
        return [t for (k, _), t in sorted(self._types.items()) if kind is None or k is kind]


CATALOGUE = Catalogue({RuleKind.TRIGGER: "crm.triggers", RuleKind.ROBOT: "crm.robots"})


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
    delay: Delay = field(default_factory=Delay)
    after_previous: bool = False
    retry: Retry = Retry()
    repeat: Repeat | None = None
    continue_on_failure: bool = False  # the robots after it in the chain run even if it failed
    allow_repeat: bool = False  # run again when the item comes back to the stage
    active: bool = True

    def __post_init__(self) -> None:
        if self.kind is RuleKind.TRIGGER and (
            self.delay != Delay()
            or self.after_previous
            or self.retry != Retry()
            or self.repeat
            or self.continue_on_failure
            or self.allow_repeat
        ):
            raise Invalid(
                "delay, after_previous, retry, repeat, continue_on_failure and allow_repeat "
                "are robot settings"
            )
        if self.kind is RuleKind.ROBOT and self.allow_backwards:
            raise Invalid("allow_backwards is a trigger setting")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "type_code": self.type_code,
            "name": self.name,
            "stage_id": self.stage_id,
            "params": self.params,
            "condition": self.condition.to_dict() if self.condition else None,
            "run_as": self.run_as,
            "sort": self.sort,
            "allow_backwards": self.allow_backwards,
            "delay": self.delay.to_dict(),
            "after_previous": self.after_previous,
            "retry": {"attempts": self.retry.attempts, "backoff_seconds": self.retry.backoff_seconds},
            "repeat": {"every_minutes": self.repeat.every_minutes, "times": self.repeat.times}
            if self.repeat
            else None,
            "continue_on_failure": self.continue_on_failure,
            "allow_repeat": self.allow_repeat,
            "active": self.active,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rule:
        return cls(
            id=data["id"],
            kind=RuleKind(data["kind"]),
            type_code=data["type_code"],
            name=data["name"],
            stage_id=data["stage_id"],
            params=data.get("params") or {},
            condition=conditions.parse(data["condition"]) if data.get("condition") else None,
            run_as=data.get("run_as"),
            sort=int(data.get("sort", 0)),
            allow_backwards=bool(data.get("allow_backwards")),
            delay=Delay.from_dict(data.get("delay") or {}),
            after_previous=bool(data.get("after_previous")),
            retry=Retry(**data["retry"]) if data.get("retry") else Retry(),
            repeat=Repeat(**data["repeat"]) if data.get("repeat") else None,
            continue_on_failure=bool(data.get("continue_on_failure")),
            allow_repeat=bool(data.get("allow_repeat")),
            active=data.get("active", True) is not False,
        )


@dataclass(frozen=True)
class PipelineConfig:
    """A pipeline with every rule on its stages: what one query loads and a warm container keeps.

    The rules are indexed once, when the configuration is made (a container loads it once and
    keeps it), so that finding a stage's robots or the triggers an event may fire costs a look-up,
    whatever the number of rules in the pipeline."""

    pipeline: Pipeline
    rules: tuple[Rule, ...] = ()
    _on_stage: dict[tuple[RuleKind, str], tuple[Rule, ...]] = field(init=False, repr=False, compare=False)
    _triggers: dict[str, tuple[Rule, ...]] = field(init=False, repr=False, compare=False)
    _by_id: dict[str, Rule] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        stage_order = {stage.id: n for n, stage in enumerate(self.pipeline.stages)}
        # Stage order, then the rule's own sort: the order robots run in and triggers are tried in.
        ordered = sorted(self.rules, key=lambda r: (stage_order.get(r.stage_id, len(stage_order)), r.sort))
        on_stage: dict[tuple[RuleKind, str], list[Rule]] = {}
        triggers: dict[str, list[Rule]] = {}
        for rule in ordered:
            on_stage.setdefault((rule.kind, rule.stage_id), []).append(rule)
            if rule.kind is RuleKind.TRIGGER:
                triggers.setdefault(rule.type_code, []).append(rule)
        object.__setattr__(self, "_on_stage", {k: tuple(v) for k, v in on_stage.items()})
        object.__setattr__(self, "_triggers", {k: tuple(v) for k, v in triggers.items()})
        object.__setattr__(self, "_by_id", {r.id: r for r in self.rules})

    @property
    def version(self) -> int:
        return self.pipeline.version

    def rules_on(self, stage_id: str, kind: RuleKind) -> list[Rule]:
        """The stage's rules of one kind, in their order."""
        return list(self._on_stage.get((kind, stage_id), ()))

    def triggers_of_type(self, type_code: str) -> tuple[Rule, ...]:
        """The pipeline's triggers of one type (what an event of that type may fire), in stage order."""
        return self._triggers.get(type_code, ())

    def rule(self, rule_id: str) -> Rule | None:
        return self._by_id.get(rule_id)
