"""*Copy item*: a new item of the same type with the item's values (contacts, amount, fields), in the
first stage of its pipeline or of the pipeline and stage named, under a title template."""

from __future__ import annotations

from pydantic import Field

from crm.domain.model import Item
from crm.domain.robots import RobotContext, RobotFailed
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.robots.inside import Id, Outputs, Params, Template, rendered

MAX_TITLE = 200


class CopyItemParams(Params):
    title: Template = "{{ item.title }}"
    pipeline_id: Id | None = Field(None, description="a pipeline of the item's type; none: its own")
    stage_id: Id | None = Field(None, description="none: the pipeline's first stage")
    responsible_id: Id | None = Field(None, description="none: the item's responsible")


class CopyOutputs(Outputs):
    item_id: str


def run(ctx: RobotContext, item: Item, params: CopyItemParams) -> dict:
    values: dict[str, object] = {
        "title": rendered(ctx, params.title, "title", MAX_TITLE),
        "pipeline_id": params.pipeline_id or item.pipeline_id,
        "amount": item.amount,
        "currency": item.currency,
        "responsible_id": params.responsible_id or item.responsible_id,
        "emails": list(item.emails),
        "phones": list(item.phones),
        "company": item.company,
        "fields": dict(item.fields),
    }
    if params.stage_id is not None:
        if (values["pipeline_id"], params.stage_id) == (ctx.run.pipeline_id, ctx.run.stage_id):
            # The copy would enter the stage this robot sits on, and this robot would copy it again.
            raise RobotFailed(
                "a copy into the robot's own stage would be copied again, without end", retryable=False
            )
        values["stage_id"] = params.stage_id
    copy = ctx.ports.items.create(
        ctx.tenant_id, item.type, values, idempotency_key=ctx.idempotency_key, cause=ctx.cause
    )
    return {"item_id": copy.id}


COPY_ITEM = CATALOGUE.register(
    RuleType(
        "copy_item",
        RuleKind.ROBOT,
        "Copy item",
        CopyItemParams,
        "A copy of the item (contacts, amount, fields) in the first stage of its pipeline, or in the "
        "pipeline and stage named, with a title from a template.",
        run=run,
        outputs=CopyOutputs,
    )
)
