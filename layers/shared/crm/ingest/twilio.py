"""Source: Twilio. ``POST /telephony/twilio/{line_id}``: a Twilio number's Voice status callbacks
(and ``<Dial>`` action callbacks), urlencoded, signed with ``X-Twilio-Signature`` over the public
URL the tenant gave Twilio (``crm.service.telephony`` says what each call does).

The public URL is the API's base URL from configuration (``PUBLIC_BASE_URL``, the template's
``PublicBaseUrl`` for a custom domain), else API Gateway's own domain and stage; never the Host
header, which the caller writes.

Answers, as Twilio expects them: 200 with an empty TwiML ``<Response/>`` for every verified
callback, whether it moved an item, was a duplicate or a status on the way (a ``<Dial>`` action
answered so ends the call, as it would have ended); 403 for a signature that does not verify; 404
for an unknown line; 400 for a form that is not a call's; 415 for a body that is not a form.
Nothing is written then. 503 with Retry-After when the store was busy: Twilio may deliver again."""

from __future__ import annotations

import os

from crm.bodies import BodyError
from crm.domain.errors import Unauthorized
from crm.ingest.http import Request, Response, error
from crm.service import telephony

FORM = "application/x-www-form-urlencoded"
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def handle(request: Request) -> Response:
    if request.media_type != FORM:
        raise BodyError(415, f"Twilio posts its callbacks as {FORM}")
    params = [(name, value) for name, values in request.form().items() for value in values]
    # Read per request: the local runtime learns its own address after the function is loaded.
    url = request.public_url(os.environ.get("PUBLIC_BASE_URL", ""))
    try:
        telephony.receive_twilio(
            request.path_params.get("line_id", ""), url, params, request.headers.get("x-twilio-signature")
        )
    except Unauthorized as refused:
        return error(403, str(refused), request.request_id)
    return Response(200, TWIML, {"Content-Type": "text/xml"})
