"""*CRM form filled*: the client filled in a CRM form (any form, or one of those chosen)."""

from __future__ import annotations

from pydantic import Field

from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.triggers.filters import MAX_IDS, EventData, Id, Params


class FormParams(Params):
    form_ids: list[Id] = Field(default=[], max_length=MAX_IDS, description="none: any form")


class FormData(EventData):
    form_id: Id


def form_matches(data: FormData, params: FormParams) -> bool:
    return not params.form_ids or data.form_id in params.form_ids


FORM_FILLED = CATALOGUE.register(
    RuleType(
        "form_filled",
        RuleKind.TRIGGER,
        "CRM form filled",
        FormParams,
        "The client filled in a CRM form on the site: any form, or one of those chosen.",
        FormData,
        form_matches,
    )
)
