"""*Responsible changed*: the item got another responsible employee (optionally: from or to whom)."""

from __future__ import annotations

from pydantic import model_validator

from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.triggers.filters import EventData, Id, Params


class ResponsibleParams(Params):
    from_employee: Id | None = None  # none: whoever was responsible
    to_employee: Id | None = None  # none: whoever becomes responsible

    @model_validator(mode="after")
    def _a_change(self) -> ResponsibleParams:
        if self.from_employee is not None and self.from_employee == self.to_employee:
            raise ValueError("from_employee and to_employee are the same: such a trigger could never fire")
        return self


class ResponsibleData(EventData):
    old: Id | None
    new: Id | None


def responsible_matches(data: ResponsibleData, params: ResponsibleParams) -> bool:
    return (
        data.old != data.new
        and params.from_employee in (None, data.old)
        and params.to_employee in (None, data.new)
    )


RESPONSIBLE_CHANGED = CATALOGUE.register(
    RuleType(
        "responsible_changed",
        RuleKind.TRIGGER,
        "Responsible changed",
        ResponsibleParams,
        "Another employee was made responsible for the item: anyone, or from or to the one given.",
        ResponsibleData,
        responsible_matches,
    )
)
