"""*Outgoing call*: a call to the client ended, made through a telephony line or logged by an
employee (optionally: on some lines only, or one that lasted)."""

from __future__ import annotations

from pydantic import Field

from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.triggers.filters import DAY, CallData, LineFilter


class CallParams(LineFilter):
    # 0: every call, also unanswered ones; more: only a conversation at least this long.
    min_duration_seconds: int = Field(0, ge=0, le=DAY)


def call_matches(data: CallData, params: CallParams) -> bool:
    if not params.admits(data.line_id):
        return False
    if not params.min_duration_seconds:
        return True
    return data.duration_seconds is not None and data.duration_seconds >= params.min_duration_seconds


OUTGOING_CALL = CATALOGUE.register(
    RuleType(
        "outgoing_call",
        RuleKind.TRIGGER,
        "Outgoing call",
        CallParams,
        "A call to the client ended (through a line, or logged by an employee): any call, or one "
        "on the lines chosen, or one that lasted at least the time given.",
        CallData,
        call_matches,
    )
)
