"""*Incoming call*: the client called one of the tenant's lines, someone answered, and the call
ended (optionally: on some lines only, or a conversation that lasted)."""

from __future__ import annotations

from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.triggers.filters import CallData
from crm.triggers.outgoing_call import CallParams, call_matches

INCOMING_CALL = CATALOGUE.register(
    RuleType(
        "incoming_call",
        RuleKind.TRIGGER,
        "Incoming call",
        CallParams,
        "The client called and was answered: any call, or one on the lines chosen, or one that "
        "lasted at least the time given.",
        CallData,
        call_matches,
    )
)
