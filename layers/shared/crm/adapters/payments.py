"""The ``Payments`` port: a Stripe Checkout Session per payment link (``StripeCheckout``, over the
``Http`` port), and the local runtime's provider (``LocalPayments``).

Stripe makes a session once per ``Idempotency-Key`` (for 24 hours: a run retried later than that
would make a second session, which stays unpaid). The session, its payment intent and the invoice
Checkout makes for it carry the item in their metadata (``crm_ref``: ``deal/25``, and the tenant),
for the signed ``checkout.session.completed``, ``payment_intent.succeeded`` and ``invoice.paid``
webhooks to find it by (``crm.service.payments``).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from crm.adapters.http import refused_answer
from crm.adapters.tables import ItemsTableRecord
from crm.adapters.transactions import condition_failed
from crm.domain import clock
from crm.domain.model import Item
from crm.domain.payments import ref_text
from crm.domain.ports import Http, PaymentLink
from crm.domain.robots import RobotFailed
from crm.domain.trigger_events import ItemRef

STRIPE_SESSIONS = "https://api.stripe.com/v1/checkout/sessions"
TIMEOUT = 10.0
CURRENCY = re.compile(r"^[A-Za-z]{3}$")


def _checked(amount_minor: int, currency: str, description: str) -> None:
    """Refuses (not retried) what no provider takes: the amount is in minor units (cents)."""
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise RobotFailed(
            f"the amount to pay must be a positive number, not {amount_minor!r}", retryable=False
        )
    if not CURRENCY.match(currency or ""):
        raise RobotFailed(f"{currency!r} is not a three-letter currency code", retryable=False)
    if not description.strip():
        raise RobotFailed("the payment's description is empty", retryable=False)


def reference(item: Item) -> str:
    """The item as Stripe's ``client_reference_id`` takes it (letters, digits, - and _; 200 at most)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"{item.type}_{item.id}")[:200]


class StripeCheckout:
    def __init__(
        self, http: Http, secret_key: str, *, success_url: str, cancel_url: str, url: str = STRIPE_SESSIONS
    ) -> None:
        self.http = http
        self.secret_key = secret_key
        self.success_url = success_url
        self.cancel_url = cancel_url
        self.url = url

    def payment_link(
        self,
        tenant_id: str,
        item: Item,
        *,
        amount_minor: int,
        currency: str,
        description: str,
        idempotency_key: str,
    ) -> PaymentLink:
        _checked(amount_minor, currency, description)
        form = [
            ("mode", "payment"),
            ("line_items[0][price_data][currency]", currency.lower()),
            ("line_items[0][price_data][unit_amount]", str(amount_minor)),
            ("line_items[0][price_data][product_data][name]", description.strip()),
            ("line_items[0][quantity]", "1"),
            ("success_url", self.success_url),
            ("cancel_url", self.cancel_url),
            ("client_reference_id", reference(item)),
            ("metadata[item_type]", item.type),
            ("metadata[item_id]", item.id),
            # An invoice for the payment, so that paying it fires *invoice paid* triggers too.
            ("invoice_creation[enabled]", "true"),
        ]
        ref = ref_text(ItemRef(item.type, item.id))
        carriers = ("metadata", "payment_intent_data[metadata]", "invoice_creation[invoice_data][metadata]")
        for carrier in carriers:
            form += [(f"{carrier}[crm_ref]", ref), (f"{carrier}[tenant_id]", tenant_id)]
        if item.emails:  # Checkout asks the payer for it otherwise
            form.append(("customer_email", item.emails[0]))
        answer = self.http.post(
            self.url,
            urlencode(form).encode(),
            {
                "Authorization": f"Bearer {self.secret_key}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Idempotency-Key": idempotency_key,
            },
            timeout=TIMEOUT,
        )
        try:
            session = json.loads(answer.body)
        except ValueError:
            session = None
        if not 200 <= answer.status < 300:
            error = session.get("error") if isinstance(session, dict) else None
            message = error.get("message") if isinstance(error, dict) else None
            # Stripe says itself whether the same request may succeed later, when it knows.
            should_retry = {"true": True, "false": False}.get(answer.headers.get("stripe-should-retry", ""))
            text = message or answer.body[:200].decode(errors="replace")
            raise refused_answer("Stripe", answer, text, retryable=should_retry)
        if not isinstance(session, dict) or not session.get("id") or not session.get("url"):
            # The session may exist: the same key answers it again.
            raise RobotFailed("Stripe's answer holds no checkout session (id and url)")
        return PaymentLink(session["id"], session["url"])


# ---------------------------------------------------------------- the local runtime's provider

LINK_SK = "PAYMENT_LINK"
LINK_KEPT = timedelta(days=30)


class LocalPaymentRecord(ItemsTableRecord):
    """A local payment link: pk={tenant}#PAYMENT#{link id} sk=PAYMENT_LINK; TTL expires_at."""

    item_type = UnicodeAttribute()
    item_id = UnicodeAttribute()
    amount_minor = NumberAttribute()
    currency = UnicodeAttribute()
    description = UnicodeAttribute()
    created_at = UnicodeAttribute()
    expires_at = NumberAttribute()
    paid_at = UnicodeAttribute(null=True)


@dataclass(frozen=True)
class LocalPayment:
    """What the local pay page shows, and what its Stripe-format webhook carries back."""

    tenant_id: str
    link: PaymentLink
    item_type: str
    item_id: str
    amount_minor: int
    currency: str
    description: str
    paid_at: datetime | None = None


class LocalPayments:
    """Payment links of the local runtime: ``{base_url}/_local/pay/{tenant}/{link id}``, a page the
    runtime serves, showing the amount (read with ``payment``) and paying it. Once per key: a retry
    answers the link the first call made."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def _link(self, tenant_id: str, link_id: str) -> PaymentLink:
        return PaymentLink(link_id, f"{self.base_url}/_local/pay/{tenant_id}/{link_id}")

    def payment_link(
        self,
        tenant_id: str,
        item: Item,
        *,
        amount_minor: int,
        currency: str,
        description: str,
        idempotency_key: str,
    ) -> PaymentLink:
        _checked(amount_minor, currency, description)
        link_id = "cs_local_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        at = clock.now()
        try:
            LocalPaymentRecord(
                pk=f"{tenant_id}#PAYMENT#{link_id}",
                sk=LINK_SK,
                kind="payment_link",
                tenant_id=tenant_id,
                item_type=item.type,
                item_id=item.id,
                amount_minor=amount_minor,
                currency=currency.lower(),
                description=description.strip(),
                created_at=at.isoformat(),
                expires_at=int((at + LINK_KEPT).timestamp()),
            ).save(condition=LocalPaymentRecord.pk.does_not_exist())
        except PutError as error:
            if not condition_failed(error):
                raise
        return self._link(tenant_id, link_id)

    def payment(self, tenant_id: str, link_id: str) -> LocalPayment | None:
        """The link's payment as made (None: no such link of the tenant)."""
        try:
            record = LocalPaymentRecord.get(f"{tenant_id}#PAYMENT#{link_id}", LINK_SK, consistent_read=True)
        except DoesNotExist:
            return None
        return LocalPayment(
            tenant_id,
            self._link(tenant_id, link_id),
            record.item_type,
            record.item_id,
            int(record.amount_minor),
            record.currency,
            record.description,
            None if record.paid_at is None else datetime.fromisoformat(record.paid_at),
        )

    def mark_paid(self, tenant_id: str, link_id: str, at: datetime) -> bool:
        """Records the link as paid at ``at``: False if it was paid before (nothing changes then)."""
        try:
            LocalPaymentRecord(pk=f"{tenant_id}#PAYMENT#{link_id}", sk=LINK_SK).update(
                actions=[LocalPaymentRecord.paid_at.set(at.isoformat())],
                condition=LocalPaymentRecord.pk.exists() & LocalPaymentRecord.paid_at.does_not_exist(),
            )
        except UpdateError as error:
            if not condition_failed(error):
                raise
            return False
        return True
