"""Telephony: call events of the tenants' lines as *missed call*, *incoming call* and *outgoing
call* trigger events: Twilio's status callbacks (``POST /telephony/twilio/{line_id}``,
``crm.ingest.twilio``) and any other PBX's signed JSON reports (``POST /telephony/events/{line_id}``,
``crm.ingest.pbx``). One function for both: small requests of the same cost, one warm pool."""

import os

from crm.ingest import pbx, twilio
from crm.ingest.http import Request, Response, serve

# The API's public base URL for Twilio's signatures; empty: API Gateway's domain and stage.
if os.environ.get("PUBLIC_BASE_URL") is None:
    raise OSError("PUBLIC_BASE_URL is not set: the template sets it (empty: the execute-api URL)")

# A status callback is a few hundred bytes; a PBX report as small.
MAX_BODY_BYTES = 16 * 1024
SOURCES = {"/telephony/twilio/{line_id}": twilio.handle, "/telephony/events/{line_id}": pbx.handle}


def handle(request: Request) -> Response:
    return SOURCES[request.resource](request)


lambda_handler = serve(handle, limit=MAX_BODY_BYTES)
