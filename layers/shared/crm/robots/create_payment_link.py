"""*Create payment link*: a link where the client pays the deal (Bitrix24's "Create payment link",
amoCRM's "Invoice"), made by the tenant's payment provider. Its outputs go into the mail after it
(``{{ robots.r1.payment_url }}``); the payment, when it comes, fires the *invoice paid* trigger.

The amount and currency default to the item's. Providers take an amount in the currency's minor
units (cents), whose number of decimals depends on the currency; an amount finer than that is
refused rather than rounded, because the client would be asked a different sum."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from crm.domain.model import Item
from crm.domain.robots import RobotContext, RobotFailed
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.robots.inside import Params, Template
from crm.robots.outside import rendered, within

# ISO 4217's minor units where they are not 2. A provider with rules of its own (Stripe's for ISK
# and MGA) adapts the amount in its adapter.
_ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENTS = {
    **dict.fromkeys(_ZERO_DECIMALS.split(), 0),
    **dict.fromkeys(_THREE_DECIMALS.split(), 3),
}
# The payment page shows the description as the name of what is paid for: one line, this long at most.
MAX_DESCRIPTION = 500

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217, like EUR")]


def exponent(currency: str) -> int:
    """How many decimals an amount of ``currency`` has (the minor units' power of ten)."""
    return _EXPONENTS.get(currency, 2)


def minor_units(amount: Decimal, currency: str) -> int:
    """``amount`` in the currency's minor units; ValueError if it is not a whole number of them."""
    minor = amount.scaleb(exponent(currency))
    if minor != minor.to_integral_value():
        raise ValueError(f"{amount} {currency} has more than {exponent(currency)} decimals")
    return int(minor)


class CreatePaymentLinkParams(Params):
    amount: Decimal | None = Field(None, gt=0, max_digits=18, description="none: the item's amount")
    currency: Currency | None = Field(None, description="none: the item's currency")
    description: Template = "{{ item.title }}"

    @model_validator(mode="after")
    def _payable(self) -> CreatePaymentLinkParams:
        if self.amount is not None and self.currency is not None:
            minor_units(self.amount, self.currency)
        return self


class CreatePaymentLinkOutputs(BaseModel):
    payment_url: str
    payment_id: str
    amount: str = Field(description="what the client is asked to pay, like 12.50")
    currency: str


def create_payment_link(ctx: RobotContext, item: Item, params: CreatePaymentLinkParams) -> dict[str, str]:
    if ctx.ports.payments is None:
        raise RobotFailed("no payment provider configured", retryable=False)
    amount = params.amount if params.amount is not None else _item_amount(item)
    currency = params.currency or (item.currency or "").upper()
    if not currency or len(currency) != 3 or not currency.isalpha():
        raise RobotFailed(f"{item.ref} has no currency: set one on it or in the robot", retryable=False)
    try:
        minor = minor_units(amount, currency)
    except ValueError as error:
        raise RobotFailed(str(error), retryable=False) from None
    description = within(
        rendered(ctx.header, params.description, "description"), MAX_DESCRIPTION, "description"
    )
    link = ctx.ports.payments.payment_link(
        ctx.tenant_id,
        item,
        amount_minor=minor,
        currency=currency,
        description=description,
        idempotency_key=ctx.idempotency_key,
    )
    return {
        "payment_url": link.url,
        "payment_id": link.id,
        "amount": f"{amount:.{exponent(currency)}f}",
        "currency": currency,
    }


def _item_amount(item: Item) -> Decimal:
    if item.amount is None:
        raise RobotFailed(f"{item.ref} has no amount: set one on it or in the robot", retryable=False)
    # Through its shortest text, so that 19.99 stored as a float is 19.99, not 19.989999...
    amount = Decimal(repr(item.amount))
    if not amount.is_finite() or amount <= 0:
        raise RobotFailed(f"{item.ref}'s amount {item.amount} is not a sum to pay", retryable=False)
    return amount


CREATE_PAYMENT_LINK = CATALOGUE.register(
    RuleType(
        "create_payment_link",
        RuleKind.ROBOT,
        "Create payment link",
        CreatePaymentLinkParams,
        "Makes a link where the client pays the item's amount (or the one given) with the tenant's "
        "payment provider; its payment_url goes into a mail or SMS after it.",
        run=create_payment_link,
        outputs=CreatePaymentLinkOutputs,
    )
)
