"""Payments: the tenant's payment accounts, Stripe's webhook signature and events, and what an item
has been paid.

A payment account is a provider the tenant set up: ``stripe`` (the secret key that makes Checkout
sessions, and the signing secret of the webhook endpoint the tenant registered in Stripe), or
``local`` (the local runtime's provider, whose signing secret the CRM makes). Its id names the
tenant (``pa_{tenant}_{12 hex}``) and goes in the webhook's URL, ``/payments/stripe/{account id}``:
the request is believed only when signed with the account's secret. Secrets are kept (an HMAC is
checked with the key itself) and never shown back: an account shows their last four characters.
Rolling the signing secret keeps the previous one valid for a grace period, as Stripe's own "roll
secret" does, so events signed with either verify while Stripe switches over.

Stripe's signature (https://docs.stripe.com/webhooks#verify-manually)::

    Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>[,v1=...][,v0=...]

checked on the raw bytes, against every v1 value (Stripe signs with each secret it holds while one
is rolled), with the timestamp at most ``TOLERANCE`` away from now (a replay of an old delivery is
refused; a recent one is applied once, by its event's id).

Events: ``invoice.paid`` and ``invoice.payment_succeeded`` are *invoice paid*; a
``checkout.session.completed`` whose payment_status is ``paid`` and ``payment_intent.succeeded``
are *order paid*. The item is the one the object's ``metadata.crm_ref`` names (``deal/25`` or
``DEAL_25``). What one payment is paid is counted once on the item (``Ledger``), whichever of its
events (the session, its invoice, its payment intent) arrive, in any order, as often as they come.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from crm.domain import endpoints, signatures
from crm.domain.errors import Invalid
from crm.domain.hooks import MAX_GRACE
from crm.domain.trigger_events import ItemRef
from crm.domain.urls import web_address

ACCOUNT_PREFIX = endpoints.PAYMENT_ACCOUNT
ACCOUNT_ID_PATTERN = endpoints.pattern(ACCOUNT_PREFIX)
WEBHOOK_SECRET_PREFIX = "whsec_"
# Stripe's signing secrets are whsec_ and base64-ish characters; the CRM's own (local) are 32 bytes.
_WEBHOOK_SECRET = re.compile(r"^whsec_[A-Za-z0-9+/=_-]{16,200}$")
# Secret (sk_) or restricted (rk_) keys, live or test.
_SECRET_KEY = re.compile(r"^(sk|rk)_(live|test)_[A-Za-z0-9]{10,250}$")


class Provider(StrEnum):
    STRIPE = "stripe"
    LOCAL = "local"  # the local runtime's provider (``make run``)
    GENERIC = "generic"  # any other provider, posting the documented JSON (``generic_payment``)

    @property
    def secret_made_here(self) -> bool:
        """Whether the CRM makes the account's signing secret (Stripe makes its own)."""
        return self is not Provider.STRIPE

    @property
    def events_path(self) -> str:
        """Where the provider posts its events, before the account id."""
        return "/payments/events/" if self is Provider.GENERIC else "/payments/stripe/"


def new_account_id(tenant_id: str) -> str:
    return endpoints.new_id(ACCOUNT_PREFIX, tenant_id)


def parse_account_id(account_id: str) -> str | None:
    """The tenant an account id names, or None when it is not an account id."""
    return endpoints.tenant_of(ACCOUNT_PREFIX, account_id)


def new_webhook_secret() -> str:
    return WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)


def last4(secret: str | None) -> str | None:
    return None if secret is None else secret[-4:]


def check_secret_key(key: str) -> str:
    if not isinstance(key, str) or not _SECRET_KEY.match(key.strip()):
        raise Invalid("secret_key: a Stripe secret or restricted key (sk_live_..., sk_test_..., rk_...)")
    return key.strip()


def check_webhook_secret(secret: str) -> str:
    if not isinstance(secret, str) or not _WEBHOOK_SECRET.match(secret.strip()):
        raise Invalid("webhook_secret: the endpoint's signing secret from Stripe, whsec_...")
    return secret.strip()


@dataclass(frozen=True)
class PaymentAccount:
    tenant_id: str
    id: str
    name: str
    provider: Provider
    created_at: datetime
    webhook_secret: str = field(repr=False)  # signs the provider's events to the CRM
    secret_key: str | None = field(default=None, repr=False)  # Stripe's: makes Checkout sessions
    return_url: str | None = None  # Stripe's: where Checkout sends the client back to
    rotated_at: datetime | None = None
    previous_webhook_secret: str | None = field(default=None, repr=False)  # before the last roll ...
    previous_valid_until: datetime | None = None  # ... and until when it still verifies events

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not 1 <= len(self.name.strip()) <= 200:
            raise Invalid("payment account name: 1-200 characters")
        if parse_account_id(self.id) != self.tenant_id:
            raise Invalid(f"{self.id!r} is not a payment account id of tenant {self.tenant_id!r}")
        object.__setattr__(self, "provider", Provider(self.provider))
        if self.provider is Provider.STRIPE and (self.secret_key is None or self.return_url is None):
            raise Invalid(
                "a Stripe account needs its secret_key (it makes the Checkout sessions) and a "
                "return_url (the page Checkout sends the client back to)"
            )
        stripes_own = (self.secret_key, self.return_url)
        if self.provider is not Provider.STRIPE and stripes_own != (None, None):
            raise Invalid(f"the {self.provider} provider takes no secret_key or return_url")
        if self.return_url is not None:
            object.__setattr__(self, "return_url", web_address(self.return_url, "return_url"))
        for secret in (self.webhook_secret, self.previous_webhook_secret):
            if secret is not None:
                check_webhook_secret(secret)
        if self.secret_key is not None:
            check_secret_key(self.secret_key)
        if (self.previous_webhook_secret is None) != (self.previous_valid_until is None):
            raise Invalid("a previous signing secret has a time it is valid until, and only it")

    def signing_secrets(self, now: datetime) -> tuple[str, ...]:
        """The secrets an event signed now may be signed with: the current one, and the previous
        one during its grace period."""
        previous = self.previous_webhook_secret
        if previous is not None and self.previous_valid_until is not None and now < self.previous_valid_until:
            return (self.webhook_secret, previous)
        return (self.webhook_secret,)

    def as_of(self, now: datetime) -> PaymentAccount:
        """The account as it stands at ``now``: a previous secret past its grace period is gone."""
        return self if len(self.signing_secrets(now)) == 2 else self.without_previous()

    def rolled(self, new_secret: str, now: datetime, grace: timedelta) -> PaymentAccount:
        """A new signing secret; the current one keeps verifying for ``grace`` (0: stops now). A
        second roll within the grace period retires the oldest: two secrets at most."""
        if not timedelta(0) <= grace <= MAX_GRACE:
            raise Invalid(f"grace: from 0 to {MAX_GRACE.days} days")
        keep = grace > timedelta(0)
        return replace(
            self,
            webhook_secret=check_webhook_secret(new_secret),
            rotated_at=now,
            previous_webhook_secret=self.webhook_secret if keep else None,
            previous_valid_until=now + grace if keep else None,
        )

    def without_previous(self) -> PaymentAccount:
        return replace(self, previous_webhook_secret=None, previous_valid_until=None)


# ---------------------------------------------------------------- Stripe's signature


def stripe_signature(payload: bytes, secret: str, at: datetime) -> str:
    """The ``Stripe-Signature`` header Stripe sends with ``payload`` (the local provider signs so)."""
    return signatures.sign(payload, secret, at)


def verify_stripe_signature(
    payload: bytes, header: str | None, signing_secrets: Sequence[str], now: datetime
) -> datetime:
    """When the event was signed, if ``header`` signs ``payload`` (raw bytes) with one of
    ``signing_secrets`` within the tolerance; Unauthorized otherwise, saying why."""
    return signatures.verify(payload, header, signing_secrets, now, "Stripe-Signature")


# ---------------------------------------------------------------- Stripe's events


class PaymentKind(StrEnum):
    INVOICE = "invoice_paid"  # the trigger type each fires
    ORDER = "order_paid"


INVOICE_EVENTS = ("invoice.paid", "invoice.payment_succeeded")
ORDER_EVENTS = ("checkout.session.completed", "payment_intent.succeeded")
_EVENT_ID = re.compile(r"^[A-Za-z0-9_]{1,255}$")
_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_.]{0,99}$")
_OBJECT_ID = re.compile(r"^[A-Za-z0-9_]{1,255}$")
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")


@dataclass(frozen=True)
class StripeEvent:
    """The envelope of a Stripe event (``id``, ``type``, ``created``, ``data.object``)."""

    id: str
    type: str
    created: datetime
    object: Mapping[str, Any]
    livemode: bool = False

    @classmethod
    def of(cls, document: Any) -> StripeEvent:
        """Invalid when ``document`` is not a Stripe event."""
        if not isinstance(document, dict) or document.get("object") != "event":
            raise Invalid('not a Stripe event: expected {"object": "event", "id", "type", "data"}')
        event_id, event_type, created = document.get("id"), document.get("type"), document.get("created")
        if not isinstance(event_id, str) or not _EVENT_ID.match(event_id):
            raise Invalid("the event has no id (evt_...)")
        if not isinstance(event_type, str) or not _EVENT_TYPE.match(event_type):
            raise Invalid("the event has no type (invoice.paid, ...)")
        if isinstance(created, bool) or not isinstance(created, int) or not 0 < created < 2**40:
            raise Invalid("the event has no creation time (created, Unix seconds)")
        data = document.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
            raise Invalid("the event has no data.object")
        return cls(
            event_id,
            event_type,
            datetime.fromtimestamp(created, UTC),
            data["object"],
            document.get("livemode") is True,
        )


def crm_ref(value: Any) -> ItemRef:
    """The item ``metadata.crm_ref`` names: ``deal/25`` or ``DEAL_25``; Invalid otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid("crm_ref: the item as deal/25 or DEAL_25")
    kind, slash, item_id = value.strip().partition("/")
    return ItemRef(kind, item_id) if slash else ItemRef.from_target(value.strip())


def ref_text(item: ItemRef) -> str:
    """The item as ``metadata.crm_ref`` carries it."""
    return f"{item.type}/{item.id}"


@dataclass(frozen=True)
class Payment:
    """One payment as a Stripe event tells it: what the item named was paid by one document (an
    invoice, a Checkout session, a payment intent)."""

    kind: PaymentKind
    key: str  # the same payment fact whichever event of it: the trigger event's id
    item: ItemRef
    ids: frozenset[str]  # every id of the payment the object names (session, payment intent, invoice)
    amount_minor: int  # paid by this document so far
    total_minor: int  # what the document asks
    currency: str  # upper case
    document: str  # the object's id
    tenant_id: str | None = None  # metadata.tenant_id, when the CRM made the document

    @property
    def settled(self) -> bool:
        return self.amount_minor >= self.total_minor


@dataclass(frozen=True)
class Unacted:
    """An event the CRM records but does not act on, and why; ``item`` when the object names one."""

    why: str
    item: ItemRef | None = None
    email: str | None = None


def payment_of(event: StripeEvent) -> Payment | Unacted:
    """What ``event`` says was paid, or why it is not a payment the CRM acts on."""
    obj = event.object
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    email = _email_of(obj)
    if event.type not in INVOICE_EVENTS + ORDER_EVENTS:
        return Unacted(f"Stripe event type {event.type} is not a payment the CRM acts on", email=email)
    if "crm_ref" not in metadata:
        return Unacted(f"the {event.type} names no CRM item (metadata.crm_ref)", email=email)
    try:
        item = crm_ref(metadata["crm_ref"])
    except Invalid as error:
        return Unacted(f"metadata.crm_ref {metadata['crm_ref']!r} is not an item: {error}", email=email)
    tenant_id = metadata.get("tenant_id") if isinstance(metadata.get("tenant_id"), str) else None
    object_id = obj.get("id")
    currency = obj.get("currency")
    if not isinstance(object_id, str) or not _OBJECT_ID.match(object_id):
        raise Invalid(f"the {event.type} object has no id")
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise Invalid(f"the {event.type} object has no currency")
    ids = {object_id} | {v for v in (_id(obj.get("payment_intent")), _id(obj.get("invoice"))) if v}
    if event.type in INVOICE_EVENTS:
        paid, total = _minor(obj, "amount_paid"), _minor(obj, "amount_due")
        # invoice.paid and invoice.payment_succeeded of the same payment are one fact: the invoice
        # and what it has been paid so far (a later partial payment of it is another fact).
        key, kind = f"invoice:{object_id}:{paid}", PaymentKind.INVOICE
    elif event.type == "checkout.session.completed":
        if obj.get("payment_status") != "paid":
            status = obj.get("payment_status")
            return Unacted(f"the Checkout session {object_id} completed unpaid ({status})", item=item)
        paid = total = _minor(obj, "amount_total")
        key, kind = f"order:{_id(obj.get('payment_intent')) or object_id}", PaymentKind.ORDER
    else:
        paid, total = _minor(obj, "amount_received"), _minor(obj, "amount")
        key, kind = f"order:{object_id}", PaymentKind.ORDER
    return Payment(kind, key, item, frozenset(ids), paid, total, currency.upper(), object_id, tenant_id)


GENERIC_FIELDS = {
    *("event_id", "kind", "item", "payment_id", "document", "amount", "total", "currency", "paid_at")
}
_GENERIC_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def generic_payment(document: Any) -> tuple[str, datetime | None, Payment]:
    """The event id, the time paid and the payment of a report to ``/payments/events/{account}``::

        {"event_id": "pay-881", "kind": "invoice", "item": "deal/25", "payment_id": "p-881",
         "document": "INV-2026-118", "amount": 90000, "total": 90000, "currency": "EUR",
         "paid_at": "2026-11-23T09:00:00Z"}

    ``kind``: ``invoice`` (*invoice paid*) or ``order`` (*order paid*); ``item`` as ``deal/25`` or
    ``DEAL_25``; ``amount`` (paid by this payment) and ``total`` (what the document asks, default the
    amount) in minor units; ``document`` defaults to the payment id. One payment id is one payment,
    however often and under whichever event ids it is reported. Invalid for anything else."""
    if not isinstance(document, dict):
        raise Invalid("the body is a JSON object describing one payment")
    if unknown := set(document) - GENERIC_FIELDS:
        raise Invalid(f"unknown fields: {sorted(unknown)}")
    if missing := {"event_id", "kind", "item", "payment_id", "amount", "currency"} - set(document):
        raise Invalid(f"required: {sorted(missing)}")
    ids = {name: document.get(name) for name in ("event_id", "payment_id", "document")}
    for name, value in ids.items():
        if value is not None and (not isinstance(value, str) or not _GENERIC_ID.match(value)):
            raise Invalid(f"{name}: 1-128 letters, digits, '_', '.', ':' or '-'")
    try:
        kind = {"invoice": PaymentKind.INVOICE, "order": PaymentKind.ORDER}[document["kind"]]
    except (KeyError, TypeError):
        raise Invalid("kind: invoice or order") from None
    amount = _minor(document, "amount")
    total = _minor(document, "total") if document.get("total") is not None else amount
    currency = document["currency"]
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise Invalid("currency: a three-letter ISO 4217 code")
    paid_at = document.get("paid_at")
    at = None
    if paid_at is not None:
        try:
            at = datetime.fromisoformat(paid_at) if isinstance(paid_at, str) else None
        except ValueError:
            at = None
        if at is None or at.tzinfo is None:
            raise Invalid("paid_at: an ISO 8601 date-time with its time zone")
    try:
        item = crm_ref(document["item"])
    except Invalid as error:
        raise Invalid(f"item: the item paid for, as deal/25 or DEAL_25 ({error})") from None
    payment_id = ids["payment_id"]
    payment = Payment(
        kind=kind,
        key=f"{kind.value}:generic:{payment_id}",
        item=item,
        ids=frozenset({payment_id}),
        amount_minor=amount,
        total_minor=total,
        currency=currency.upper(),
        document=ids["document"] or payment_id,
    )
    return ids["event_id"], at, payment


def _id(value: Any) -> str | None:
    """An expandable field's id: the id itself, or the expanded object's."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and _OBJECT_ID.match(value) else None


def _minor(obj: Mapping[str, Any], name: str) -> int:
    value = obj.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10**15:
        raise Invalid(f"{name}: an amount in minor units")
    return value


def _email_of(obj: Mapping[str, Any]) -> str | None:
    details = obj.get("customer_details")
    for value in (
        obj.get("customer_email"),
        details.get("email") if isinstance(details, dict) else None,
        obj.get("receipt_email"),
        obj.get("email"),
    ):
        if isinstance(value, str) and "@" in value:
            return value
    return None


# ---------------------------------------------------------------- what an item has been paid


@dataclass(frozen=True)
class Paid:
    """One payment on the ledger: its ids and what it has paid."""

    ids: frozenset[str]
    amount_minor: int
    currency: str

    def to_dict(self) -> dict[str, Any]:
        return {"ids": sorted(self.ids), "amount_minor": self.amount_minor, "currency": self.currency}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Paid:
        return cls(frozenset(data["ids"]), int(data["amount_minor"]), data["currency"])


@dataclass(frozen=True)
class Ledger:
    """What an item has been paid, payment by payment. A payment is known by any of its ids, so
    its session, its invoice and its payment intent count once; an invoice paid in parts counts
    what it has been paid so far."""

    payments: tuple[Paid, ...] = ()
    version: int = 0  # of the stored ledger (0: none stored)

    def paid(self, currency: str) -> int:
        return sum(p.amount_minor for p in self.payments if p.currency == currency)

    def with_payment(self, payment: Payment) -> Ledger | None:
        """The ledger with ``payment`` counted; None when it is counted already (no news)."""
        for n, known in enumerate(self.payments):
            if known.ids & payment.ids:
                ids, amount = known.ids | payment.ids, max(known.amount_minor, payment.amount_minor)
                if ids == known.ids and amount == known.amount_minor:
                    return None
                counted = Paid(ids, amount, known.currency)
                return replace(self, payments=(*self.payments[:n], counted, *self.payments[n + 1 :]))
        return replace(
            self, payments=(*self.payments, Paid(payment.ids, payment.amount_minor, payment.currency))
        )


def share_paid(paid_minor: int, due_minor: int) -> float:
    """What part of ``due_minor`` is paid (1.0 and more: all of it)."""
    return paid_minor / due_minor if due_minor > 0 else 1.0
