"""The public address of this API as the caller reached it, for the URLs the API hands out (a form's
page, a hook's secret URL, a site's event URL, tracked links): the scheme, the domain API Gateway
reports (``requestContext.domainName``: the execute-api domain, or the custom domain the caller
used), and the stage or base path in front of the route (``/dev`` on the execute-api domain;
nothing on a custom domain or the local runtime)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router


def public_url(router: Router, path: str) -> str:
    event = router.current_event
    # API Gateway serves HTTPS only, and says so in X-Forwarded-Proto; the local runtime says http.
    scheme = event.headers.get("X-Forwarded-Proto") or "https"
    host = event.request_context.domain_name or event.headers.get("Host", "")
    seen = event.request_context.path or event.path
    base = seen[: -len(event.path)] if event.path and seen.endswith(event.path) else ""
    return f"{scheme}://{host}{base}{path}"
