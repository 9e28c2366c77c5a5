"""*Callback form filled*: the client asked for a call back through a callback form."""

from __future__ import annotations

from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.triggers.form_filled import FormData, FormParams, form_matches

CALLBACK_FORM_FILLED = CATALOGUE.register(
    RuleType(
        "callback_form_filled",
        RuleKind.TRIGGER,
        "Callback form filled",
        FormParams,
        "The client asked for a call back through a callback form: any form, or one of those chosen.",
        FormData,
        form_matches,
    )
)
