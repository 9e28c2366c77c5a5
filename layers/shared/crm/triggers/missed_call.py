"""*Missed call*: the client called one of the tenant's lines and nobody answered (optionally: on
some lines only, or only a call that rang at least so long, so a caller who hung up at once is not
called back)."""

from __future__ import annotations

from pydantic import Field

from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.triggers.filters import DAY, CallData, LineFilter


class MissedCallParams(LineFilter):
    # 0: every missed call. More: only one that rang at least this long; a provider that does not
    # say how long a call rang (Twilio) fires it anyway, rather than lose a missed call.
    min_ring_seconds: int = Field(0, ge=0, le=DAY)


def missed_call_matches(data: CallData, params: MissedCallParams) -> bool:
    if not params.admits(data.line_id):
        return False
    return data.ring_seconds is None or data.ring_seconds >= params.min_ring_seconds


MISSED_CALL = CATALOGUE.register(
    RuleType(
        "missed_call",
        RuleKind.TRIGGER,
        "Missed call",
        MissedCallParams,
        "The client called and nobody answered: any missed call, or one on the lines chosen, or "
        "one that rang at least the time given.",
        CallData,
        missed_call_matches,
    )
)
