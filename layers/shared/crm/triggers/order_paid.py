"""*Order paid*: the client paid the item's order online (a Checkout session paid, a payment intent
succeeded; ``card_present``: at a terminal). Params and data as *invoice paid*'s."""

from __future__ import annotations

from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.triggers.invoice_paid import PaidData, PaidParams, paid_matches

ORDER_PAID = CATALOGUE.register(
    RuleType(
        "order_paid",
        RuleKind.TRIGGER,
        "Order paid",
        PaidParams,
        "The client paid the item's order online or at a terminal: all that is due, or at least the "
        "share given.",
        PaidData,
        paid_matches,
    )
)
