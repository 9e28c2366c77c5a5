"""The stage-transition policy: may this item move to that stage, for this cause?

Every kind of move (manual through the API, a trigger firing, a robot) goes through
``TransitionPolicy.decide``; 1C:CRM-style entry guards ("prohibit the move unless ...", "require
documents") plug in as ``EntryGuard`` objects and refuse with a message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from crm.domain.errors import MoveRefused
from crm.domain.model import Cause, Item, Pipeline, Stage, StageMove, TimelineEntry, TimelineKind

# Robots that move stages can fire triggers that move stages again; a chain deeper than this is
# stopped (and journaled by the caller) instead of looping for ever.
MAX_CHAIN_DEPTH = 8


@dataclass(frozen=True)
class MoveRequest:
    to_stage: str
    cause: Cause
    by: str | None = None
    # Forward only by default; going back, or reopening a closed item, must be asked for.
    allow_backwards: bool = False


class EntryGuard(Protocol):
    def refusal(self, item: Item, pipeline: Pipeline, target: Stage, request: MoveRequest) -> str | None:
        """A message saying why the item may not enter ``target``, or None to let it."""


class TransitionPolicy:
    def __init__(self, guards: Sequence[EntryGuard] = ()) -> None:
        self.guards = tuple(guards)

    def decide(self, item: Item, pipeline: Pipeline, request: MoveRequest) -> Stage | None:
        """The stage to enter, None if the item is already there; MoveRefused otherwise.

        An unknown target stage is the caller's mistake and raises Invalid (from ``pipeline.stage``).
        """
        target = pipeline.stage(request.to_stage)
        if item.stage_id == target.id:
            return None
        if len(request.cause.chain) >= MAX_CHAIN_DEPTH:
            raise MoveRefused(
                f"stopped: the chain of automatic moves is deeper than {MAX_CHAIN_DEPTH}", "chain_too_deep"
            )
        if pipeline.has_stage(item.stage_id) and not request.allow_backwards:
            current = pipeline.stage(item.stage_id)
            if current.is_final:
                raise MoveRefused(
                    f"{item.ref} is closed in stage {current.name!r}; reopening needs allow_backwards",
                    "closed",
                )
            if target.sort < current.sort:
                raise MoveRefused(
                    f"{target.name!r} comes before {current.name!r}; moving back needs allow_backwards",
                    "backwards",
                )
        for guard in self.guards:
            message = guard.refusal(item, pipeline, target, request)
            if message:
                raise MoveRefused(message, "guard")
        return target


def moved(
    item: Item, target: Stage, request: MoveRequest, at: datetime, entry_id: str
) -> tuple[Item, TimelineEntry]:
    """The item after entering ``target``, and the timeline entry that records the move."""
    move = StageMove(item.stage_id, target.id, request.by, request.cause, at)
    after = replace(item, stage_id=target.id, stage_entered_at=at, updated_at=at, last_move=move)
    entry = TimelineEntry(
        id=entry_id,
        kind=TimelineKind.STAGE_CHANGED,
        at=at,
        by=request.by,
        data={
            "from": item.stage_id,
            "to": target.id,
            "cause": request.cause.to_dict(),
            "semantic": target.semantic.value,
        },
    )
    return after, entry
