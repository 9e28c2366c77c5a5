"""Webforms: ``GET|POST|OPTIONS /forms/{form_id}`` (public, no API key): the hosted form page, the
CORS preflight, and submissions, each a *form filled* or *callback form filled* trigger event
(``crm.ingest.webform``)."""

from crm.ingest.http import serve
from crm.ingest.webform import handle

lambda_handler = serve(handle)
