"""Source: the site. ``POST /site/{site_key}/events`` with a visit as JSON, labelled
``application/json`` or ``text/plain`` (what ``navigator.sendBeacon`` sends a string as, needing no
CORS preflight); ``OPTIONS`` answers the preflight of a ``fetch`` with JSON. The request's Origin
must be one of the site's origins (403 otherwise, without CORS headers); answers to an allowed
origin carry its CORS headers, errors included, so the page's developer can read them.

Answers: 204 whatever the visit did: the key is public, so the answer must not tell whether a
contact has items or where they stand (the journal says, to the tenant). A visit with a
``contact_token`` gets ``Crm-Contact-Token: verified | expired | refused`` (what the CRM made of the
token, for the site's developer to see in the browser's network panel; an expired or refused token
makes the visit anonymous, still 204). 404 unknown key, 403 another origin, 400 a malformed visit
(also one naming its contact in plain ``email``/``phone``: only a signed token may), 413 over 16 KB,
415 another media type."""

from __future__ import annotations

from crm.bodies import BodyError
from crm.domain.errors import Invalid
from crm.ingest.http import Request, Response
from crm.service import sites

MEDIA_TYPES = ("application/json", "text/plain")


def handle(request: Request) -> Response:
    origin = request.headers.get("origin")
    site = sites.site_for(request.path_params.get("site_key", ""), origin)
    allow = {"Access-Control-Allow-Origin": site.check_origin(origin), "Vary": "Origin"}
    if request.method == "OPTIONS":
        preflight = {
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "600",
        }
        return Response(204, b"", allow | preflight)
    try:
        if request.media_type not in MEDIA_TYPES:
            raise BodyError(415, f"send the visit as JSON, labelled {' or '.join(MEDIA_TYPES)}")
        if not request.body:
            raise BodyError(400, 'send a visit: {"url": ..., "visitor_id": ...}')
        token = sites.visit(site, request.json())
    except BodyError as refused:
        raise BodyError(refused.status, str(refused), refused.headers | allow) from None
    except Invalid as refused:
        raise BodyError(400, str(refused), allow) from None
    return Response(204, b"", allow if token is None else allow | {"Crm-Contact-Token": token.value})
