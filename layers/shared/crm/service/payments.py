"""Payments: the tenant's payment accounts, and the events their providers send.

Accounts (``/automation/payment-accounts``): ``stripe`` (the tenant's secret key, the return page
and the signing secret of the webhook endpoint it registered in Stripe) or ``local`` (the local
runtime's provider, only where ``LOCAL_PAYMENTS=1`` says the local runtime runs) or ``generic`` (any
other provider, posting the documented JSON to ``/payments/events/{account id}``); the local and
generic accounts' signing secrets are made here and shown once. Payment links are made with the
tenant's oldest Stripe (or local) account (``links_account``).

Receiving (``receive_stripe``): the account the URL names (404 when there is none), Stripe's
signature on the raw body (Unauthorized), the event (Invalid when it is not one), then:

- a payment (``crm.domain.payments.payment_of``) of the item its metadata names: counted on the
  item's ledger, once per payment whichever of its events come, with a ``payment_received`` entry
  on the item's timeline, in the transaction of the trigger decision (``along``); then *invoice
  paid* or *order paid* applied to the item, once per payment fact (its ``key``);
- anything else: journaled for the tenant, once per Stripe event, by the item or the payer's email
  the object names; logged only when it names neither.

Receiving from another provider (``receive_generic``): the same, with the CRM's signature scheme
(``X-Crm-Signature``) and one payment per report (``crm.domain.payments.generic_payment``).

DynamoDB calls per payment event, warm: the item and its ledger in one BatchGetItem, then the
decision's transaction (2); the account is kept by the warm container for ``ACCOUNT_KEPT``, so a
deleted account or a rolled-out secret may still verify events there that long.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger

from crm.adapters import payment_accounts as store
from crm.adapters import warm
from crm.adapters.along import Write
from crm.adapters.http import HttpClient
from crm.adapters.items import timeline_record
from crm.adapters.payments import LocalPayments, StripeCheckout
from crm.bodies import BadValue, parse_json
from crm.domain import clock, signatures
from crm.domain.errors import Invalid, NotFound
from crm.domain.hooks import DEFAULT_GRACE
from crm.domain.model import Item, TimelineEntry, TimelineKind, entry_id
from crm.domain.payments import (
    Payment,
    PaymentAccount,
    Provider,
    StripeEvent,
    Unacted,
    check_secret_key,
    check_webhook_secret,
    generic_payment,
    new_account_id,
    new_webhook_secret,
    parse_account_id,
    payment_of,
    share_paid,
    verify_stripe_signature,
)
from crm.domain.ports import PaymentLink
from crm.domain.robots import RobotFailed
from crm.domain.trigger_events import Contact, ContactKind, TriggerEvent
from crm.robots.create_payment_link import exponent, minor_units
from crm.service.triggers import Applied, apply_trigger_event, journal_unapplied

logger = Logger(child=True)

SOURCE = "stripe"
GENERIC_SOURCE = "payments"  # any other provider (``receive_generic``)
GENERIC_SIGNATURE = "X-Crm-Signature"
ACCOUNT_KEPT = 60.0
_accounts: warm.Kept[tuple[str, str], PaymentAccount] = warm.Kept(limit=4096, seconds=ACCOUNT_KEPT)


def local_payments_allowed() -> bool:
    """The local runtime says so in its environment; deployed, the local provider does not exist."""
    return os.environ.get("LOCAL_PAYMENTS") == "1"


# ---------------------------------------------------------------- accounts


@dataclass(frozen=True)
class CreatedAccount:
    account: PaymentAccount
    webhook_secret: str | None  # a secret the CRM made, shown once (a Stripe account's is Stripe's)


def create_account(tenant_id: str, values: dict[str, Any]) -> CreatedAccount:
    """``values``: name, provider, and for Stripe secret_key, webhook_secret, return_url."""
    provider = Provider(values["provider"])
    if provider is Provider.LOCAL and not local_payments_allowed():
        raise Invalid("provider local: only the local runtime (make run) has the local payment provider")
    made_here = provider.secret_made_here
    secret = new_webhook_secret() if made_here else values.get("webhook_secret")
    if secret is None:
        raise Invalid("webhook_secret: the signing secret Stripe shows for the endpoint (whsec_...)")
    account = PaymentAccount(
        tenant_id=tenant_id,
        id=new_account_id(tenant_id),
        name=values["name"].strip(),
        provider=provider,
        created_at=clock.now(),
        webhook_secret=check_webhook_secret(secret),
        secret_key=None if values.get("secret_key") is None else check_secret_key(values["secret_key"]),
        return_url=values.get("return_url"),
    )
    store.create(account)
    return CreatedAccount(account, secret if made_here else None)


def accounts(tenant_id: str) -> list[PaymentAccount]:
    now = clock.now()
    return sorted((a.as_of(now) for a in store.list_all(tenant_id)), key=lambda a: a.created_at)


def account(tenant_id: str, account_id: str) -> PaymentAccount:
    found = store.get(tenant_id, account_id)
    if found is None:
        raise NotFound(f"payment account {account_id!r} does not exist")
    return found.as_of(clock.now())


def update_account(tenant_id: str, account_id: str, values: dict[str, Any]) -> PaymentAccount:
    """A new name, secret key or return page (what ``values`` holds); the signing secret is rolled."""
    current = account(tenant_id, account_id)
    changes: dict[str, Any] = {}
    if values.get("name") is not None:
        changes["name"] = values["name"].strip()
    for name in ("secret_key", "return_url"):
        if values.get(name) is not None:
            if current.provider is not Provider.STRIPE:
                raise Invalid(f"{name}: only a Stripe account has one")
            changes[name] = check_secret_key(values[name]) if name == "secret_key" else values[name]
    updated = replace(current, **changes)
    store.replace(updated, expected_secret=current.webhook_secret)
    return updated


def roll_webhook_secret(
    tenant_id: str, account_id: str, new_secret: str | None, grace: timedelta = DEFAULT_GRACE
) -> CreatedAccount:
    """The endpoint's new signing secret (Stripe's, after "roll secret" in its dashboard; made here
    for a local account and shown once); the current one keeps verifying for ``grace``."""
    current = account(tenant_id, account_id)
    made_here = current.provider.secret_made_here
    if made_here and new_secret is not None:
        raise Invalid(f"webhook_secret: a {current.provider} account's secret is made by the CRM")
    if not made_here and new_secret is None:
        raise Invalid("webhook_secret: the new signing secret Stripe shows after rolling it (whsec_...)")
    secret = new_webhook_secret() if made_here else new_secret
    assert secret is not None
    rolled = current.rolled(secret, clock.now(), grace)
    store.replace(rolled, expected_secret=current.webhook_secret)
    return CreatedAccount(rolled, secret if made_here else None)


def revoke_previous_secret(tenant_id: str, account_id: str) -> PaymentAccount:
    """Ends a roll's grace period now: only the current secret verifies events."""
    current = account(tenant_id, account_id)
    if current.previous_webhook_secret is None:
        raise NotFound(f"payment account {account_id!r} has no previous signing secret still valid")
    done = current.without_previous()
    store.replace(done, expected_secret=current.webhook_secret)
    return done


def delete_account(tenant_id: str, account_id: str) -> None:
    store.delete(tenant_id, account_id)


def links_account(tenant_id: str) -> PaymentAccount | None:
    """The account payment links are made with: the tenant's oldest (a local one only where the
    local runtime runs)."""
    candidates = [
        a
        for a in store.list_all(tenant_id)
        if a.provider is Provider.STRIPE or (a.provider is Provider.LOCAL and local_payments_allowed())
    ]
    return min(candidates, key=lambda a: a.created_at, default=None)


class TenantPayments:
    """The robots' ``Payments`` port: each link by the tenant's payment account (``links_account``),
    Stripe Checkout with the tenant's secret key, or the local runtime's provider."""

    def __init__(self, public_base: str) -> None:
        self.http = HttpClient()  # Stripe's API: public HTTPS, never loopback
        self.local = LocalPayments(public_base)

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
        account = links_account(tenant_id)
        if account is None:
            raise RobotFailed(
                "no payment account: add one at /automation/payment-accounts to make payment links",
                retryable=False,
            )
        provider: LocalPayments | StripeCheckout = self.local
        if account.provider is Provider.STRIPE:
            assert account.secret_key is not None and account.return_url is not None
            provider = StripeCheckout(
                self.http, account.secret_key, success_url=account.return_url, cancel_url=account.return_url
            )
        return provider.payment_link(
            tenant_id,
            item,
            amount_minor=amount_minor,
            currency=currency,
            description=description,
            idempotency_key=idempotency_key,
        )


# ---------------------------------------------------------------- receiving Stripe's events


@dataclass(frozen=True)
class Received:
    event_id: str
    event_type: str
    applied: tuple[Applied, ...] = ()
    note: str | None = None  # why nothing was applied

    def to_dict(self) -> dict[str, Any]:
        return {
            "received": self.event_id,
            "type": self.event_type,
            "applied": [a.to_dict() for a in self.applied],
            "note": self.note,
        }


def receive_stripe(account_id: str, body: bytes, signature: str | None) -> Received:
    """A Stripe event (``body``, the raw bytes it was signed over) to the account ``account_id``:
    NotFound for an unknown account, Unauthorized for a signature that does not verify, Invalid for
    a body that is not a Stripe event. Nothing is written in any of these cases."""
    now = clock.now()
    paying = _webhook_account(account_id, (Provider.STRIPE, Provider.LOCAL))
    verify_stripe_signature(body, signature, paying.signing_secrets(now), now)
    try:
        document = parse_json(body)
    except BadValue as error:
        raise Invalid(f"the body is not a Stripe event: {error}") from None
    event = StripeEvent.of(document)
    found = payment_of(event)
    if isinstance(found, Unacted):
        return _unacted(paying, event, found, now)
    if found.tenant_id is not None and found.tenant_id != paying.tenant_id:
        # The same Stripe account serves another tenant of this CRM: its events reach every endpoint.
        logger.info("a payment of another tenant", extra={"stripe_event": event.id})
        return Received(event.id, event.type, note="the payment is another CRM tenant's")
    applied = _apply_payment(paying.tenant_id, SOURCE, event.id, event.created, found, now)
    return Received(event.id, event.type, tuple(applied))


def receive_generic(account_id: str, body: bytes, signature: str | None) -> Received:
    """Another provider's payment report (``crm.domain.payments.generic_payment``) to a generic
    account, signed in ``X-Crm-Signature`` with the account's secret: NotFound, Unauthorized or
    Invalid as for Stripe's, and nothing written then."""
    now = clock.now()
    paying = _webhook_account(account_id, (Provider.GENERIC,))
    signatures.verify(body, signature, paying.signing_secrets(now), now, GENERIC_SIGNATURE)
    try:
        document = parse_json(body)
    except BadValue as error:
        raise Invalid(f"the body is not a payment report: {error}") from None
    event_id, paid_at, payment = generic_payment(document)
    applied = _apply_payment(paying.tenant_id, GENERIC_SOURCE, event_id, paid_at or now, payment, now)
    return Received(event_id, f"{payment.kind.value.removesuffix('_paid')}.paid", tuple(applied))


def _webhook_account(account_id: str, providers: tuple[Provider, ...]) -> PaymentAccount:
    """The account whose endpoint ``account_id`` is, of one of ``providers``; NotFound otherwise
    (a Stripe endpoint does not take a generic account's events, nor the other way)."""
    unknown = NotFound(f"payment account {account_id!r} does not exist")
    tenant_id = parse_account_id(account_id)
    if tenant_id is None:
        raise unknown
    found = _accounts.get((tenant_id, account_id), lambda: store.get(tenant_id, account_id))
    if found is None or found.provider not in providers:
        raise unknown
    return found


def _unacted(paying: PaymentAccount, event: StripeEvent, unacted: Unacted, now: datetime) -> Received:
    contact = None if unacted.email is None else _contact(unacted.email)
    if unacted.item is None and contact is None:
        logger.info(
            "a Stripe event naming no item or payer", extra={"stripe_event": event.id, "why": unacted.why}
        )
        return Received(event.id, event.type, note=unacted.why)
    recorded = TriggerEvent(
        type="stripe_" + event.type.replace(".", "_")[:57],
        source=SOURCE,
        event_id=f"event:{event.id}",
        tenant_id=paying.tenant_id,
        occurred_at=event.created,
        item=unacted.item,
        contact=None if unacted.item is not None else contact,
        data={"stripe_event": event.id, "stripe_type": event.type, "account": paying.id},
    )
    return Received(event.id, event.type, (journal_unapplied(recorded, unacted.why, now=now),), unacted.why)


def _contact(email: str) -> Contact | None:
    try:
        return Contact(ContactKind.EMAIL, email)
    except Invalid:
        return None


def _apply_payment(
    tenant_id: str, source: str, event_id: str, occurred_at: datetime, payment: Payment, now: datetime
) -> list[Applied]:
    """``payment`` reported by ``source`` in its event ``event_id``: counted once on the item's
    ledger, on its timeline when what it was paid changes, then its trigger event applied."""
    item, ledger = store.item_and_ledger(tenant_id, payment.item)
    counted = ledger.with_payment(payment) if item is not None else None
    data = _paid_data(item, payment, (counted or ledger).paid(payment.currency), source)
    trigger_event = TriggerEvent(
        type=payment.kind.value,
        source=source,
        event_id=payment.key,
        tenant_id=tenant_id,
        occurred_at=occurred_at,
        item=payment.item,
        data=data,
    )
    along: list[Write] = []
    if item is not None and counted is not None:
        # The ledger learns the payment's other ids (its invoice after its session) without news;
        # what it was paid, when it changes, goes on the timeline too, in the same transaction.
        along.append(store.ledger_write(tenant_id, payment.item, counted, ledger))
        if counted.paid(payment.currency) != ledger.paid(payment.currency):
            entry = TimelineEntry(
                entry_id(),
                TimelineKind.PAYMENT_RECEIVED,
                now,
                None,
                {
                    "provider": source,
                    f"{source}_event": event_id,
                    "payment": sorted(payment.ids),
                    **{k: data[k] for k in ("document", "amount", "currency", "paid", "due", "due_of")},
                },
            )
            along.append(Write(timeline_record(tenant_id, item, entry)))
    return apply_trigger_event(trigger_event, now=now, read=item, along=along)


def _paid_data(item: Item | None, payment: Payment, paid_on_item: int, source: str) -> dict[str, Any]:
    """What triggers of the payment's type see: the share of the item's amount paid in all, when
    the item has an amount in the payment's currency; else the share of the document paid."""
    due_on_item = _due(item, payment.currency)
    if due_on_item is not None:
        paid, due, due_of = paid_on_item, due_on_item, "item"
    else:
        paid, due, due_of = payment.amount_minor, payment.total_minor, "document"
    return {
        "provider": source,
        "document": payment.document,
        "amount": _text(payment.amount_minor, payment.currency),
        "currency": payment.currency,
        "paid": _text(paid, payment.currency),
        "due": _text(due, payment.currency),
        "due_of": due_of,
        "share": share_paid(paid, due),
    }


def _due(item: Item | None, currency: str) -> int | None:
    if item is None or item.amount is None or (item.currency or "").upper() != currency:
        return None
    try:
        due = minor_units(Decimal(repr(item.amount)), currency)
    except ValueError:  # finer than the currency's minor unit: due to the nearest unit
        due = int(Decimal(repr(item.amount)).scaleb(exponent(currency)).to_integral_value())
    return due if due > 0 else None


def _text(minor: int, currency: str) -> str:
    places = exponent(currency)
    return f"{Decimal(minor).scaleb(-places):.{places}f}"
