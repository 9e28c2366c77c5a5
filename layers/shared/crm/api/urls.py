"""The public address of this API, for the URLs the API hands out (a form's page, a hook's secret
URL, a site's event URL, a line's webhook URL, tracked links): the configured public base URL
(``PUBLIC_BASE_URL``, the template's ``PublicBaseUrl``: a custom domain) when there is one, as the
ingest functions check Twilio's signatures against it; else as the caller reached it: the scheme,
the domain API Gateway reports (``requestContext.domainName``), and the stage or base path in front
of the route (``/dev`` on the execute-api domain; nothing on the local runtime)."""

from __future__ import annotations

import os

from aws_lambda_powertools.event_handler.api_gateway import Router


def public_url(router: Router, path: str) -> str:
    # Read per request: the local runtime learns its own address after the function is loaded.
    if base := os.environ.get("PUBLIC_BASE_URL"):
        return base.rstrip("/") + path
    event = router.current_event
    # API Gateway serves HTTPS only, and says so in X-Forwarded-Proto; the local runtime says http.
    scheme = event.headers.get("X-Forwarded-Proto") or "https"
    host = event.request_context.domain_name or event.headers.get("Host", "")
    seen = event.request_context.path or event.path
    base = seen[: -len(event.path)] if event.path and seen.endswith(event.path) else ""
    return f"{scheme}://{host}{base}{path}"
