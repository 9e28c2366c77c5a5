"""Source: any other payment provider. ``POST /payments/events/{account_id}``: one JSON payment
report per request (``crm.domain.payments.generic_payment`` documents it), signed with the generic
account's secret in ``X-Crm-Signature`` (``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." +
body)>``, Stripe's scheme; 300 s tolerance; the previous secret during a roll).

Answers: 200 with what the payment did, also for a duplicate; 401 for a signature that does not
verify; 404 for an unknown account (or one of Stripe's); 400 for a body that is not a payment
report. Nothing is written then. 503 with Retry-After when the store was busy: deliver it again."""

from __future__ import annotations

from crm.ingest.http import Request, Response, json_response
from crm.service import payments


def handle(request: Request) -> Response:
    received = payments.receive_generic(
        request.path_params.get("account_id", ""), request.body, request.headers.get("x-crm-signature")
    )
    return json_response(200, received.to_dict())
