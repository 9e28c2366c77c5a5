"""*Create on basis*: a new item made from this one, as Bitrix24's "Create using source" and
1C's "on the basis of": a deal from a lead (the conversion), a quote or an invoice from a deal, an
invoice from a quote. The new item takes the item's contacts, company, amount, currency and
responsible, the custom fields named, and the item's reference in the field named; the item gets
a timeline entry naming the new one. Once per run: a retry answers the item the first attempt made."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from crm.domain.model import BUILT_IN_TYPES, Item
from crm.domain.robots import RobotContext, RobotFailed
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.robots.inside import FieldName, Id, Outputs, Params, Template, rendered

MAX_TITLE = 200
# What each type is made on the basis of.
BASES = {"deal": ("lead",), "quote": ("deal",), "invoice": ("deal", "quote")}


class CreateOnBasisParams(Params):
    item_type: Literal["deal", "quote", "invoice"] = Field(description="what to make")
    title: Template = "{{ item.title }}"
    pipeline_id: Id | None = Field(None, description="a pipeline of the new item's type; none: its default")
    stage_id: Id | None = Field(None, description="none: the pipeline's first stage")
    responsible_id: Id | None = Field(None, description="none: the item's responsible")
    basis_field: FieldName | None = Field(
        None, description="a text field of the new item's type that gets the item's reference, like lead/25"
    )
    copy_fields: list[FieldName] = Field(
        default_factory=list,
        max_length=50,
        description="the item's custom fields copied, under the same code",
    )


class CreateOnBasisOutputs(Outputs):
    item_type: str
    item_id: str


def create_on_basis(ctx: RobotContext, item: Item, params: CreateOnBasisParams) -> dict[str, str]:
    target = params.item_type
    if item.type not in BASES[target]:
        raise RobotFailed(
            f"a {target} is made on the basis of a {' or a '.join(BASES[target])}, not of a {item.type}",
            retryable=False,
        )
    fields = {code: item.fields[code] for code in params.copy_fields if item.fields.get(code) is not None}
    if params.basis_field is not None:
        fields[params.basis_field] = item.ref
    values: dict[str, object] = {
        "title": rendered(ctx, params.title, "title", MAX_TITLE),
        "amount": item.amount,
        "currency": item.currency,
        "responsible_id": params.responsible_id or item.responsible_id,
        "emails": list(item.emails),
        "phones": list(item.phones),
        "company": item.company,
        "fields": fields,
    }
    if params.pipeline_id is not None:
        values["pipeline_id"] = params.pipeline_id
    if params.stage_id is not None:
        values["stage_id"] = params.stage_id
    made = ctx.ports.items.create(
        ctx.tenant_id, target, values, idempotency_key=ctx.idempotency_key, cause=ctx.cause
    )
    name = BUILT_IN_TYPES[target]
    ctx.effects.comments.append(
        f"Converted into {target} {made.id}: {made.title}"
        if item.type == "lead"
        else f"{name} {made.id} made on the basis of this {item.type}: {made.title}"
    )
    return {"item_type": made.type, "item_id": made.id}


CREATE_ON_BASIS = CATALOGUE.register(
    RuleType(
        "create_on_basis",
        RuleKind.ROBOT,
        "Create on basis",
        CreateOnBasisParams,
        "Makes a deal from a lead (conversion), a quote or an invoice from a deal, or an invoice from a "
        "quote, with the item's contacts, company, amount and responsible; the item's timeline names it.",
        run=create_on_basis,
        outputs=CreateOnBasisOutputs,
    )
)
