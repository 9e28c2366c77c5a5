"""Source: opens and clicks of mail sent from the CRM (``crm.service.outbound_mail`` sends it).

``GET /t/o/{token}``: the open pixel, a 43-byte transparent GIF, never cached (each open reaches
us), whatever the token: a bad or forged one records nothing, and a mail client shows no broken
image. ``GET /t/c/{token}``: 302 to the address stored for the link when the mail was sent, never
one from the request (no open redirect); 404 for a token that is not ours. ``GET /d/{token}``: a
generated document's public link, 302 to a fresh presigned URL of it (``crm.service.documents``),
firing *document viewed* the first time. HEAD requests and known prefetchers and link scanners get
the same answers and fire nothing (``tracking.automated``)."""

from __future__ import annotations

from crm.domain import tracking
from crm.domain.tracking import Purpose
from crm.ingest.http import Request, Response, error, redirect
from crm.service import documents, outbound_mail

OPEN_ROUTE = "/t/o/{token}"
CLICK_ROUTE = "/t/c/{token}"
DOCUMENT_ROUTE = "/d/{token}"
NO_STORE = {"Cache-Control": "no-store, no-cache, must-revalidate, max-age=0", "Pragma": "no-cache"}


def handle(request: Request) -> Response:
    """GET or HEAD (the template routes no other method here)."""
    token = request.path_params.get("token", "")
    if request.resource == OPEN_ROUTE:
        outbound_mail.opened(token, _automated(Purpose.OPEN, request))
        return Response(200, tracking.PIXEL, {"Content-Type": "image/gif", **NO_STORE})
    if request.resource == CLICK_ROUTE:
        return redirect(302, outbound_mail.clicked(token, _automated(Purpose.CLICK, request)))
    if request.resource == DOCUMENT_ROUTE:
        return redirect(302, documents.viewed(token, _automated(Purpose.DOCUMENT, request)))
    return error(404, f"there is no {request.path} here", request.request_id)


def _automated(purpose: Purpose, request: Request) -> str | None:
    return tracking.automated(purpose, request.method, request.headers.get("user-agent"), request.source_ip)
