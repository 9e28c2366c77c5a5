"""*Add comment*: a comment on the item's timeline, from a text template."""

from __future__ import annotations

from crm.domain.model import Item
from crm.domain.robots import RobotContext
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.robots.inside import NoOutputs, Params, Template, rendered

# As long as a comment an employee may write through the API.
MAX_COMMENT = 10_000


class AddCommentParams(Params):
    text: Template


def run(ctx: RobotContext, item: Item, params: AddCommentParams) -> dict:
    ctx.effects.comments.append(rendered(ctx, params.text, "text", MAX_COMMENT))
    return {}


ADD_COMMENT = CATALOGUE.register(
    RuleType(
        "add_comment",
        RuleKind.ROBOT,
        "Add comment",
        AddCommentParams,
        "A comment on the item's timeline; its text may use the item's values and earlier robots' outputs.",
        run=run,
        outputs=NoOutputs,
    )
)
