"""*Outgoing call*: an employee logged a call they made to the client (optionally: one that lasted)."""

from __future__ import annotations

from pydantic import Field

from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.triggers.filters import EventData, Params

DAY = 86_400


class CallParams(Params):
    # 0: every call, also unanswered ones; more: only a conversation at least this long.
    min_duration_seconds: int = Field(0, ge=0, le=DAY)


class CallData(EventData):
    duration_seconds: int | None = Field(None, ge=0, le=DAY)  # none: not logged


def call_matches(data: CallData, params: CallParams) -> bool:
    if not params.min_duration_seconds:
        return True
    return data.duration_seconds is not None and data.duration_seconds >= params.min_duration_seconds


OUTGOING_CALL = CATALOGUE.register(
    RuleType(
        "outgoing_call",
        RuleKind.TRIGGER,
        "Outgoing call",
        CallParams,
        "An employee called the client: any call, or one that lasted at least the time given.",
        CallData,
        call_matches,
    )
)
