"""*App trigger*: an application fired a trigger it registered (``{code, name}``) for the item."""

from __future__ import annotations

from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.triggers.filters import Code, EventData, Params


class AppTriggerParams(Params):
    code: Code


class AppTriggerData(EventData):
    code: Code


def app_trigger_matches(data: AppTriggerData, params: AppTriggerParams) -> bool:
    return params.code == data.code


APP_TRIGGER = CATALOGUE.register(
    RuleType(
        "app_trigger",
        RuleKind.TRIGGER,
        "App trigger",
        AppTriggerParams,
        "An application fired the trigger it registered under this code.",
        AppTriggerData,
        app_trigger_matches,
    )
)
