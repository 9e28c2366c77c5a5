"""Payment providers' webhooks as *invoice paid* and *order paid* trigger events: Stripe's events
(``POST /payments/stripe/{account_id}``, ``crm.ingest.stripe``) and any other provider's signed
JSON reports (``POST /payments/events/{account_id}``, ``crm.ingest.payment_events``)."""

from crm.ingest import payment_events, stripe
from crm.ingest.http import Request, Response, serve

# Stripe's events are a few kilobytes; an invoice with many lines stays far below this.
MAX_BODY_BYTES = 256 * 1024
SOURCES = {
    "/payments/stripe/{account_id}": stripe.handle,
    "/payments/events/{account_id}": payment_events.handle,
}


def handle(request: Request) -> Response:
    return SOURCES[request.resource](request)


lambda_handler = serve(handle, limit=MAX_BODY_BYTES)
