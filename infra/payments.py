"""The local payment provider's pay page: ``GET|POST /_local/pay/{tenant}/{link id}``.

The *create payment link* robot of a tenant whose payment account is ``local`` makes links here
(``crm.adapters.payments.LocalPayments``). GET shows what is paid for (amount, currency,
description) and a "Pay" button; POST pays: as Stripe does for a Checkout session with invoice
creation, it sends ``checkout.session.completed`` and ``invoice.paid``, signed as Stripe signs them
with the account's signing secret, to the account's webhook URL on the local API
(``/payments/stripe/{account id}``, the real ingest function). A link is paid once: paying it again
shows that it is paid and sends nothing.
"""

from __future__ import annotations

import html
import json
import logging
import urllib.error
import urllib.request
from typing import Any

from infra.api import Request, Response

log = logging.getLogger("infra.payments")

PREFIX = "/_local/pay/"


def page(request: Request, api_url: str) -> Response:
    """The answer to a request under ``/_local/pay/``."""
    from crm.adapters.payments import LocalPayments

    tenant_id, _, link_id = request.path.removeprefix(PREFIX).partition("/")
    if request.method not in ("GET", "POST"):
        return _page(405, "Not allowed", "<p>Open the link, or press Pay.</p>", [("Allow", "GET, POST")])
    provider = LocalPayments(api_url)
    payment = provider.payment(tenant_id, link_id) if tenant_id and link_id and "/" not in link_id else None
    if payment is None:
        return _page(404, "No such payment", "<p>This payment link does not exist.</p>")
    if request.method == "GET" or payment.paid_at is not None:
        return _page(200, _title(payment), _details(payment) + _action(payment))
    return _pay(provider, payment, api_url)


def _pay(provider: Any, payment: Any, api_url: str) -> Response:
    from crm.domain import clock
    from crm.domain.payments import Provider, stripe_signature
    from crm.service.payments import accounts

    account = next((a for a in accounts(payment.tenant_id) if a.provider is Provider.LOCAL), None)
    if account is None:
        return _page(409, "No local payment account", "<p>The tenant has no local payment account.</p>")
    url = f"{api_url}/payments/stripe/{account.id}"
    for event in _events(payment, clock.now()):
        body = json.dumps(event, indent=2).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": stripe_signature(body, account.webhook_secret, clock.now()),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks) local",
        }
        status, answer = _post(url, body, headers)
        if not 200 <= status < 300:
            log.warning("the payment's %s was answered %s: %s", event["type"], status, answer)
            note = f"<p>The CRM answered {status} to {html.escape(event['type'])}: {html.escape(answer)}</p>"
            return _page(502, "Payment not delivered", note + _action(payment))
    provider.mark_paid(payment.tenant_id, payment.link.id, clock.now())
    return _page(200, "Paid", _details(payment) + "<p>Thank you: the payment went through.</p>")


def _events(payment: Any, now: Any) -> list[dict[str, Any]]:
    """``checkout.session.completed`` and ``invoice.paid`` as Stripe sends them for the link."""
    suffix = payment.link.id.removeprefix("cs_local_")
    intent, invoice = f"pi_local_{suffix}", f"in_local_{suffix}"
    metadata = {"crm_ref": f"{payment.item_type}/{payment.item_id}", "tenant_id": payment.tenant_id}
    created = int(now.timestamp())
    session = {
        "id": payment.link.id,
        "object": "checkout.session",
        "amount_subtotal": payment.amount_minor,
        "amount_total": payment.amount_minor,
        "client_reference_id": f"{payment.item_type}_{payment.item_id}",
        "created": created,
        "currency": payment.currency,
        "invoice": invoice,
        "livemode": False,
        "metadata": metadata,
        "mode": "payment",
        "payment_intent": intent,
        "payment_status": "paid",
        "status": "complete",
    }
    paid_invoice = {
        "id": invoice,
        "object": "invoice",
        "amount_due": payment.amount_minor,
        "amount_paid": payment.amount_minor,
        "amount_remaining": 0,
        "created": created,
        "currency": payment.currency,
        "description": payment.description,
        "livemode": False,
        "metadata": metadata,
        "paid": True,
        "payment_intent": intent,
        "status": "paid",
    }
    return [
        _event(f"evt_local_{suffix}_session", "checkout.session.completed", session, created),
        _event(f"evt_local_{suffix}_invoice", "invoice.paid", paid_invoice, created),
    ]


def _event(event_id: str, event_type: str, obj: dict[str, Any], created: int) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": created,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def _amount(payment: Any) -> str:
    from decimal import Decimal

    from crm.robots.create_payment_link import exponent

    places = exponent(payment.currency.upper())
    return f"{Decimal(payment.amount_minor).scaleb(-places):.{places}f} {payment.currency.upper()}"


def _title(payment: Any) -> str:
    return "Paid" if payment.paid_at is not None else f"Pay {_amount(payment)}"


def _details(payment: Any) -> str:
    return (
        f'<p class="description">{html.escape(payment.description)}</p>'
        f'<p class="amount">{html.escape(_amount(payment))}</p>'
    )


def _action(payment: Any) -> str:
    if payment.paid_at is not None:
        return f'<p class="paid">Paid on {html.escape(payment.paid_at.isoformat())}.</p>'
    return '<form method="post"><button type="submit" id="pay">Pay</button></form>'


def _page(status: int, title: str, content: str, headers: list[tuple[str, str]] | None = None) -> Response:
    document = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"{content}<p><small>Local payment provider (make run): no money moves.</small></p></body></html>"
    )
    return Response(
        status,
        [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"), *(headers or [])],
        document.encode(),
    )
