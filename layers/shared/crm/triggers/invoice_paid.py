"""*Invoice paid*: the client paid an invoice for the item (Stripe's ``invoice.paid``), in full or,
when the trigger allows, a part of what the item asks.

What a payment event carries (``PaidData``): this payment, what the item has been paid in all in
that currency (each payment counted once), and the share of what is due: the item's amount when it
is in that currency, else the paid document's own total. The trigger fires when that share reaches
what it asks: everything (``fully_paid``, the default), or ``min_paid_share`` (0.3: a 30 % down
payment). A payment short of it is recorded on the item's timeline and journaled, without a move.
*Order paid* (``crm.triggers.order_paid``) takes the same params.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.triggers.filters import EventData, Params

Amount = str  # a decimal text in the currency's major units, like "12.50"


class PaidParams(Params):
    fully_paid: bool = Field(True, description="fire only when everything due is paid")
    min_paid_share: float | None = Field(
        None, gt=0, le=1, description="with fully_paid false: fire from this share paid on (0.3 = 30 %)"
    )

    @model_validator(mode="after")
    def _one_threshold(self) -> PaidParams:
        if self.fully_paid and self.min_paid_share is not None:
            raise ValueError("min_paid_share is for fully_paid false (a part of the amount is enough)")
        return self

    @property
    def threshold(self) -> float:
        return 1.0 if self.fully_paid else (self.min_paid_share or 0.0)


class PaidData(EventData):
    provider: Literal["stripe", "payments"]  # payments: another provider's generic endpoint
    document: str = Field(description="the paid invoice, session or payment intent")
    amount: Amount = Field(description="what this document has been paid")
    currency: str
    paid: Amount = Field(description="what the item has been paid in all in this currency")
    due: Amount = Field(description="the item's amount, or the document's total when the item has none")
    due_of: Literal["item", "document"]
    share: float = Field(ge=0, description="paid / due")


def paid_matches(data: PaidData, params: PaidParams) -> bool:
    return data.share >= params.threshold


INVOICE_PAID = CATALOGUE.register(
    RuleType(
        "invoice_paid",
        RuleKind.TRIGGER,
        "Invoice paid",
        PaidParams,
        "The client paid an invoice for the item: all that is due, or at least the share given.",
        PaidData,
        paid_matches,
    )
)
