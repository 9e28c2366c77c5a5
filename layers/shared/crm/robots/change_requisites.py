"""*Change requisites*: sets requisites of the item's company (or contact) from templates, like a
tax id a webform put in a field of the lead. A value that renders empty is left as it is (an empty
field never erases a stored tax id); the others are kept. Its outputs are the requisites after the
change. Setting the same values again changes nothing, so a retried run does no harm."""

from __future__ import annotations

from pydantic import Field, model_validator

from crm.domain.errors import Invalid
from crm.domain.model import Item
from crm.domain.requisites import LIMITS, HolderKind
from crm.domain.robots import RobotContext, RobotFailed
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.robots.get_requisites import RequisitesOutputs, holder, outputs
from crm.robots.inside import Params, Template
from crm.robots.outside import rendered


class ChangeRequisitesParams(Params):
    of: HolderKind = Field(HolderKind.COMPANY, description="the item's company, or its contact (first email)")
    legal_name: Template | None = None
    tax_id: Template | None = None
    registration_number: Template | None = None
    address: Template | None = None
    bank_name: Template | None = None
    bank_account: Template | None = None
    bank_code: Template | None = None

    @model_validator(mode="after")
    def _something_to_set(self) -> ChangeRequisitesParams:
        if all(getattr(self, name) is None for name in LIMITS):
            raise ValueError(f"name at least one of {list(LIMITS)} to set")
        return self


def change_requisites(ctx: RobotContext, item: Item, params: ChangeRequisitesParams) -> dict:
    whose = holder(ctx, item, params.of)
    values = {}
    for name in LIMITS:
        source = getattr(params, name)
        if source is not None and (value := rendered(ctx.text, source, name).strip()):
            values[name] = value
    if not values:
        raise RobotFailed("every value rendered empty: nothing to set", retryable=False)
    try:
        held = ctx.ports.requisites.change(ctx.tenant_id, whose, values, by=f"robot:{ctx.rule.id}")
    except Invalid as refused:
        raise RobotFailed(f"the requisites refused the values: {refused}", retryable=False) from None
    return outputs(whose, held)


CHANGE_REQUISITES = CATALOGUE.register(
    RuleType(
        "change_requisites",
        RuleKind.ROBOT,
        "Change requisites",
        ChangeRequisitesParams,
        "Sets requisites of the item's company or contact from templates (values that render empty are "
        "left as they are); outputs the requisites after the change.",
        run=change_requisites,
        outputs=RequisitesOutputs,
    )
)
