"""*Get requisites*: the requisites of the item's company (or contact) as outputs, for the robots
after it: an invoice template's ``{{ robots.r1.legal_name }}``, a mail's bank details."""

from __future__ import annotations

from pydantic import Field

from crm.domain.errors import Invalid
from crm.domain.model import Item
from crm.domain.requisites import HeldRequisites, Holder, HolderKind, Requisites, holder_of
from crm.domain.robots import RobotContext, RobotFailed
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.robots.inside import Outputs, Params


class GetRequisitesParams(Params):
    of: HolderKind = Field(HolderKind.COMPANY, description="the item's company, or its contact (first email)")
    required: bool = Field(True, description="fail when none are stored; false: found is false, values empty")


class RequisitesOutputs(Outputs):
    found: bool
    of: HolderKind
    holder: str = Field(description="the company's name, or the contact's email")
    legal_name: str | None
    tax_id: str | None
    registration_number: str | None
    address: str | None
    bank_name: str | None
    bank_account: str | None
    bank_code: str | None


def holder(ctx: RobotContext, item: Item, kind: HolderKind) -> Holder:
    """Whose requisites the robot reads or changes; it fails (until the item changes) without one."""
    if ctx.ports.requisites is None:
        raise RobotFailed("requisites are not available to robots here", retryable=False)
    try:
        return holder_of(item, kind)
    except Invalid as none:
        raise RobotFailed(str(none), retryable=False) from None


def outputs(whose: Holder, held: HeldRequisites | None) -> dict:
    values = (held.requisites if held else Requisites()).to_dict()
    holder_name = held.holder.name if held else whose.name  # as first stored, or as the item says
    return {"found": held is not None, "of": whose.kind, "holder": holder_name, **values}


def get_requisites(ctx: RobotContext, item: Item, params: GetRequisitesParams) -> dict:
    whose = holder(ctx, item, params.of)
    held = ctx.ports.requisites.get(ctx.tenant_id, whose)
    if held is None and params.required:
        raise RobotFailed(f"no requisites are stored for the {whose.kind} {whose.name!r}", retryable=False)
    return outputs(whose, held)


GET_REQUISITES = CATALOGUE.register(
    RuleType(
        "get_requisites",
        RuleKind.ROBOT,
        "Get requisites",
        GetRequisitesParams,
        "Reads the requisites (legal name, tax id, registration number, address, bank account) of the "
        "item's company or contact, for the robots after it.",
        run=get_requisites,
        outputs=RequisitesOutputs,
    )
)
