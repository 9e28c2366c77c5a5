"""Source: any other PBX. ``POST /telephony/events/{line_id}``: one JSON call report per request
(``crm.domain.telephony.pbx_call`` documents it), signed with the line's secret in
``X-Crm-Signature`` (``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``, the
scheme Stripe uses; 300 s tolerance).

Answers: 200 with what the call did (outcome, and for each item reached its stage and journal
entry), also for a duplicate; 401 for a signature that does not verify; 404 for an unknown line;
400 for a body that is not a call report. Nothing is written then. 503 with Retry-After when the
store was busy: deliver it again."""

from __future__ import annotations

from crm.ingest.http import Request, Response, json_response
from crm.service import telephony


def handle(request: Request) -> Response:
    received = telephony.receive_pbx(
        request.path_params.get("line_id", ""), request.body, request.headers.get("x-crm-signature")
    )
    return json_response(200, received.to_dict())
