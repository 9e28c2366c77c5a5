"""Public trigger sources without an API key: webhook triggers (``GET|POST /hooks/{secret}/trigger``,
``crm.ingest.webhook``) and the site's visits (``POST|OPTIONS /site/{site_key}/events``,
``crm.ingest.site``). One function for both: small requests of the same shape and cost, one warm
pool; each source's module verifies, normalises and answers on its own."""

from crm.ingest import site, webhook
from crm.ingest.http import Request, Response, serve

# Webhook calls and visits are small; nothing either takes comes near this.
MAX_BODY_BYTES = 16 * 1024
SOURCES = {"/hooks/{secret}/trigger": webhook.handle, "/site/{site_key}/events": site.handle}


def handle(request: Request) -> Response:
    return SOURCES[request.resource](request)


lambda_handler = serve(handle, limit=MAX_BODY_BYTES)
