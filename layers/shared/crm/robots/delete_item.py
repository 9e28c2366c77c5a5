"""*Delete item*: deletes the item (a junk lead, a duplicate), with its timeline."""

from __future__ import annotations

from crm.domain.model import Item
from crm.domain.robots import RobotContext
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.robots.inside import NoOutputs, Params


class DeleteItemParams(Params):
    pass


def run(ctx: RobotContext, item: Item, params: DeleteItemParams) -> dict:
    ctx.ports.items.delete(ctx.tenant_id, item)
    return {}


DELETE_ITEM = CATALOGUE.register(
    RuleType(
        "delete_item",
        RuleKind.ROBOT,
        "Delete item",
        DeleteItemParams,
        "Deletes the item with its timeline; the robots after it do not run.",
        run=run,
        outputs=NoOutputs,
    )
)
