"""Payment providers' webhooks: Stripe's events (``POST /payments/stripe/{account_id}``) as
*invoice paid* and *order paid* trigger events (``crm.ingest.stripe``)."""

from crm.ingest import stripe
from crm.ingest.http import serve

# Stripe's events are a few kilobytes; an invoice with many lines stays far below this.
MAX_BODY_BYTES = 256 * 1024

lambda_handler = serve(stripe.handle, limit=MAX_BODY_BYTES)
