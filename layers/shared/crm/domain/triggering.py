"""The trigger decision: which trigger of a pipeline an event fires for one item, and why every
other trigger of its type did not.

``decide`` is a pure function of (configuration, item, event, clock), as ``TransitionPolicy`` is
of its inputs: the service layer loads the configuration and the item, calls it, and writes the
move, the journal entry (``Decision.to_dict``) and the event's dedupe record in one transaction;
a dry run or a replay calls it on a draft configuration and writes nothing.

The semantics, as in Bitrix24: the candidates are the pipeline's triggers of the event's type
whose params match, on stages after the item's (earlier ones only with ``allow_backwards``), in
stage order; the first whose condition holds wins, so the item goes to the earliest such stage.
Its move goes through the transition policy; if an entry guard refuses it, the item stays where it
is (a later stage's trigger does not leap over the refused stage).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from crm.domain.conditions import Comparison, explain
from crm.domain.errors import MoveRefused
from crm.domain.model import Cause, CauseKind, Item, Pipeline, Stage
from crm.domain.rules import CATALOGUE, PipelineConfig, Rule, RuleKind
from crm.domain.transitions import MoveRequest, TransitionPolicy
from crm.domain.trigger_events import ItemRef, TriggerEvent


class Verdict(StrEnum):
    """What became of one trigger of the event's type."""

    MOVED = "moved"
    PARAMS_MISMATCH = "params_mismatch"  # e.g. another form, another link
    ALREADY_THERE = "already_there"  # the item is in the trigger's stage
    STAGE_BEHIND = "stage_behind"  # the item is past the trigger's stage, which does not allow backwards
    ITEM_CLOSED = "item_closed"  # the item is in a final stage
    CONDITION_FALSE = "condition_false"
    GUARD_REFUSED = "guard_refused"
    CHAIN_TOO_DEEP = "chain_too_deep"
    EARLIER_TRIGGER_CHOSEN = "earlier_trigger_chosen"  # one on an earlier stage was chosen first


class Outcome(StrEnum):
    MOVED = "moved"
    NOT_MOVED = "not_moved"
    NO_TRIGGER_OF_TYPE = "no_trigger_of_type"  # the pipeline has no trigger the event could fire
    # Settled by the service before there is an item to decide for:
    DUPLICATE = "duplicate"  # the source's event id is on record: a redelivery
    NO_ITEM = "no_item"  # the event's reference or contact reaches no item


# The transition policy's refusals, as verdicts on a trigger.
_REFUSED = {
    "closed": Verdict.ITEM_CLOSED,
    "backwards": Verdict.STAGE_BEHIND,
    "chain_too_deep": Verdict.CHAIN_TOO_DEEP,
    "guard": Verdict.GUARD_REFUSED,
}
# The rules of movement without entry guards: whether a trigger's stage is in reach at all. Guards
# are asked only about the move chosen, after its condition holds.
_IN_REACH = TransitionPolicy()


@dataclass(frozen=True)
class TriggerVerdict:
    rule_id: str
    rule_name: str
    stage_id: str
    verdict: Verdict
    message: str | None = None  # the policy's or the guard's words
    compared: tuple[Comparison, ...] = ()  # the condition's clauses with the item's values
    chosen: str | None = None  # the rule chosen instead (earlier_trigger_chosen)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "stage_id": self.stage_id,
            "verdict": self.verdict.value,
        }
        if self.message is not None:
            data["message"] = self.message
        if self.compared:
            data["compared"] = [c.to_dict() for c in self.compared]
        if self.chosen is not None:
            data["chosen"] = self.chosen
        return data


@dataclass(frozen=True)
class Decision:
    """The outcome of one event for one item, with a verdict for every trigger of the event's type.

    When the item moves, ``move`` is the request the policy accepted (its ``by`` is the run-as
    employee: the rule's, else the item's responsible) and ``target`` the stage to enter: the
    service hands both to ``transitions.moved``."""

    event: TriggerEvent
    outcome: Outcome
    at: datetime
    item: ItemRef | None = None
    pipeline_id: str | None = None
    pipeline_version: int | None = None
    verdicts: tuple[TriggerVerdict, ...] = ()
    rule_id: str | None = None
    move: MoveRequest | None = None
    target: Stage | None = None

    @classmethod
    def unapplied(cls, event: TriggerEvent, outcome: Outcome, at: datetime) -> Decision:
        """The record of an event that reached no item: a duplicate, or no item to apply it to."""
        if outcome not in (Outcome.DUPLICATE, Outcome.NO_ITEM):
            raise ValueError(f"{outcome} is decided for an item")
        return cls(event, outcome, at)

    def to_dict(self) -> dict[str, Any]:
        """The journal entry: the event, the outcome and every verdict, in plain JSON."""
        data: dict[str, Any] = {
            "event": self.event.to_dict(),
            "outcome": self.outcome.value,
            "at": self.at.isoformat(),
            "item": None if self.item is None else str(self.item),
            "pipeline_id": self.pipeline_id,
            "pipeline_version": self.pipeline_version,
            "verdicts": [v.to_dict() for v in self.verdicts],
        }
        if self.move is not None:
            data |= {
                "rule_id": self.rule_id,
                "to_stage": self.move.to_stage,
                "run_as": self.move.by,
                "cause": self.move.cause.to_dict(),
            }
        return data


def decide(
    config: PipelineConfig,
    item: Item,
    event: TriggerEvent,
    policy: TransitionPolicy,
    now: datetime,
) -> Decision:
    """Which trigger ``event`` fires for ``item`` (in ``config``'s pipeline), and why the others do
    not. ``now`` is the decision's time; nothing else is read from outside the arguments but the
    trigger types in ``CATALOGUE`` (the caller imports ``crm.triggers``, which registers them)."""
    pipeline = config.pipeline
    if item.pipeline_id != pipeline.id or item.type != pipeline.item_type:
        raise ValueError(f"{item.ref} is not in pipeline {pipeline.id!r}")
    ref = ItemRef(item.type, item.id)
    if event.item is not None and event.item != ref:
        raise ValueError(f"the event names {event.item}, not {ref}")
    head: dict[str, Any] = {
        "event": event,
        "at": now,
        "item": ref,
        "pipeline_id": pipeline.id,
        "pipeline_version": config.version,
    }
    triggers = config.triggers_of_type(event.type)
    if not triggers:
        return Decision(outcome=Outcome.NO_TRIGGER_OF_TYPE, **head)
    verdicts: list[TriggerVerdict] = []
    chosen: Rule | None = None
    move: MoveRequest | None = None
    target: Stage | None = None
    for rule in triggers:
        if not CATALOGUE.get(RuleKind.TRIGGER, rule.type_code).matches(event, rule.params):
            verdicts.append(_verdict(rule, Verdict.PARAMS_MISMATCH))
            continue
        if chosen is not None:
            verdicts.append(_verdict(rule, Verdict.EARLIER_TRIGGER_CHOSEN, chosen=chosen.id))
            continue
        request = MoveRequest(
            to_stage=rule.stage_id,
            cause=Cause(CauseKind.TRIGGER, rule.id, event.chain),
            by=rule.run_as or item.responsible_id,
            allow_backwards=rule.allow_backwards,
        )
        _, refused, message = _enter(_IN_REACH, item, pipeline, request)
        if refused is not None:
            verdicts.append(_verdict(rule, refused, message=message))
            continue
        compared: tuple[Comparison, ...] = ()
        if rule.condition is not None:
            explanation = explain(rule.condition, item.value_of)
            compared = explanation.compared
            if not explanation.holds:
                verdicts.append(_verdict(rule, Verdict.CONDITION_FALSE, compared=compared))
                continue
        chosen = rule
        stage, refused, message = _enter(policy, item, pipeline, request)
        if refused is not None:
            verdicts.append(_verdict(rule, refused, message=message, compared=compared))
            continue
        move, target = request, stage
        verdicts.append(_verdict(rule, Verdict.MOVED, compared=compared))
    return Decision(
        outcome=Outcome.NOT_MOVED if move is None else Outcome.MOVED,
        verdicts=tuple(verdicts),
        rule_id=None if move is None else move.cause.ref,
        move=move,
        target=target,
        **head,
    )


def _verdict(rule: Rule, verdict: Verdict, **more: Any) -> TriggerVerdict:
    return TriggerVerdict(rule.id, rule.name, rule.stage_id, verdict, **more)


def _enter(
    policy: TransitionPolicy, item: Item, pipeline: Pipeline, request: MoveRequest
) -> tuple[Stage | None, Verdict | None, str | None]:
    """The stage ``policy`` lets the item enter; else the verdict why not, with the policy's words."""
    try:
        stage = policy.decide(item, pipeline, request)
    except MoveRefused as refusal:
        return None, _REFUSED[refusal.reason], str(refusal)
    if stage is None:
        return None, Verdict.ALREADY_THERE, None
    return stage, None, None
