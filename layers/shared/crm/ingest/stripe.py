"""Source: Stripe. ``POST /payments/stripe/{account_id}``: the webhook endpoint a tenant registers in
Stripe for its payment account (``crm.service.payments`` says what each event does).

Answers, as Stripe expects them: 200 for every event verified, whether it moved an item, was a
duplicate, or is a type the CRM does not act on (Stripe retries anything else for three days); 400
for a signature that does not verify (forged, signed with another secret, outside the 300 s
tolerance) and for a body that is not a Stripe event; 404 for an unknown account. Nothing is
written then. 503 with Retry-After when the store was busy or the item's payments changed meanwhile:
Stripe delivers it again."""

from __future__ import annotations

from crm.domain.errors import Unauthorized
from crm.ingest.http import Request, Response, error, json_response
from crm.service import payments


def handle(request: Request) -> Response:
    try:
        received = payments.receive_stripe(
            request.path_params.get("account_id", ""),
            request.body,
            request.headers.get("stripe-signature"),
        )
    except Unauthorized as refused:
        # Stripe's advice: a signature that does not verify is a 400 (it retries, and gives up).
        return error(400, str(refused), request.request_id)
    return json_response(200, received.to_dict())
