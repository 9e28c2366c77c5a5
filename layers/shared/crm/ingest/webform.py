"""Webforms, the public edge: ``/forms/{form_id}``.

GET serves the hosted page of the form (``?submitted=1``: its thank-you page); OPTIONS answers the
CORS preflight of an origin the form allows; POST takes a submission as
``application/x-www-form-urlencoded``, ``multipart/form-data`` or JSON. The form id names the
tenant; a browser's Origin must be the hosted page's own or one the form allows (403 otherwise,
nothing stored). A browser's post (a form body, ``Accept: text/html``) is answered as a browser
reads it: 303 to the thank-you page, or a page saying what to correct; any other client gets JSON:
201 with the submission's id, or the CRM's error shape. A taken submission is answered the same
whatever it did (a known contact's or a new one's, a bot's): what it did is the tenant's to read.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Mapping
from typing import Any

from multipart import MultipartError, MultipartParser, parse_options_header

from crm.bodies import BodyError
from crm.domain.errors import CrmError, Forbidden
from crm.domain.form_pages import hosted_page, problem_page, thanks_page
from crm.domain.forms import NONCE_FIELD, NONCE_PATTERN, Form, InvalidSubmission, TooManySubmissions
from crm.ingest.http import Request, Response, error, json_response, status_of
from crm.service import forms

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_PARTS = 200
# The hosted pages run no script and load nothing: their own styles, and posts back to the CRM.
PAGE_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: with it, browsers send "Origin: null" on the page's own post.
    "Referrer-Policy": "same-origin",
}


def handle(request: Request) -> Response:
    form = forms.public_form(request.path_params.get("form_id") or "")
    if request.method == "GET":
        return _page(form, request)
    if request.method == "OPTIONS":
        return _preflight(form, request)
    if request.method == "POST":
        return _post(form, request)
    raise BodyError(405, f"{request.method} is not allowed here", {"Allow": "GET, POST, OPTIONS"})


# ---------------------------------------------------------------- the body


def fields_of(request: Request) -> dict[str, list[str]]:
    """The submitted fields, by name, from any of the three kinds of body (400 for a body that
    does not read as its type says, 415 for another type)."""
    kind = request.media_type
    if kind == "application/x-www-form-urlencoded":
        return request.form()
    if kind == "multipart/form-data":
        return _multipart(request)
    if kind == "application/json":
        return _json_fields(request.json())
    raise BodyError(415, "send the form as application/x-www-form-urlencoded, multipart/form-data or JSON")


def _multipart(request: Request) -> dict[str, list[str]]:
    _, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get("boundary")
    if not boundary:
        raise BodyError(400, "the multipart body has no boundary in its Content-Type")
    fields: dict[str, list[str]] = {}
    parser = MultipartParser(
        io.BytesIO(request.body),
        boundary,
        content_length=len(request.body),
        part_limit=MAX_PARTS,
    )
    try:
        for part in parser:
            # Files are no field of a CRM form: a file input's part is left out, as unknown names are.
            if part.name and part.filename is None:
                fields.setdefault(part.name, []).append(part.value)
            part.close()
    except MultipartError as broken:
        raise BodyError(400, f"the multipart body cannot be read: {broken}") from None
    except (UnicodeDecodeError, LookupError):
        raise BodyError(400, "a multipart field is not text in its charset") from None
    return fields


def _json_fields(document: Any) -> dict[str, list[str]]:
    """A JSON object of field name to text, number or true/false (or a list of them)."""
    if not isinstance(document, dict):
        raise BodyError(400, "the body is a JSON object of field names and values")
    fields: dict[str, list[str]] = {}
    for name, value in document.items():
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str | int | float) for v in values):
            raise BodyError(400, f"{name}: a text, a number or a list of them")
        fields[name] = [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
    return fields


# ---------------------------------------------------------------- routes


def _own_host(request: Request, origin: str) -> str | None:
    """``origin`` when it is the CRM's own host (the hosted page posting back to itself)."""
    return origin.lower() if origin.lower().split("://", 1)[-1] == request.host.lower() else None


def _cors(origin: str | None) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"} if origin else {}


def _checked_origin(form: Form, request: Request) -> str | None:
    """The request's Origin when a browser sent one, refused (403) unless the form allows it."""
    origin = request.headers.get("origin")
    if origin is None:
        return None  # not a cross-origin browser request: a server, a script, curl
    if not form.admits_origin(origin, _own_host(request, origin)):
        raise Forbidden(f"form {form.id} does not take posts from {origin}: add it to allowed_origins")
    return origin


def _preflight(form: Form, request: Request) -> Response:
    if "origin" not in request.headers:
        raise Forbidden("a CORS preflight names its Origin")
    origin = _checked_origin(form, request)
    wanted = request.headers.get("access-control-request-method", "POST").upper()
    if wanted != "POST":
        raise Forbidden(f"this form takes POST, not {wanted}")
    headers = {
        **_cors(origin),
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": "Content-Type, Accept",
        "Access-Control-Max-Age": "600",
    }
    return Response(204, b"", headers)


def _page(form: Form, request: Request) -> Response:
    if request.param("submitted") is not None:
        return Response(200, thanks_page(form), PAGE_HEADERS)
    return Response(200, hosted_page(form, form.id, secrets.token_urlsafe(18)), PAGE_HEADERS)


def _is_browser(request: Request) -> bool:
    return request.media_type in FORM_TYPES and "text/html" in request.headers.get("accept", "")


def _post(form: Form, request: Request) -> Response:
    browser = _is_browser(request)
    fields: dict[str, list[str]] = {}
    origin = None
    try:
        origin = _checked_origin(form, request)
        fields = fields_of(request)
        submission_id = forms.submit(form, fields, request.source_ip)
    except TooManySubmissions as busy:
        headers = {"Retry-After": str(busy.retry_after)}
        if browser:
            return Response(429, problem_page("Please wait a minute", str(busy)), {**PAGE_HEADERS, **headers})
        return error(429, str(busy), request.request_id, {**headers, **_cors(origin)})
    except InvalidSubmission as refused:
        if browser:
            return _correct(form, fields, refused.problems)
        # The CRM's error shape, readable by the page's script that posted it (CORS).
        details = [{"field": name, "message": m, "type": "invalid"} for name, m in refused.problems.items()]
        body = {"message": str(refused), "errors": details, "request_id": request.request_id}
        return json_response(400, body, _cors(origin))
    except (CrmError, BodyError) as refused:
        if not browser:
            raise
        status = refused.status if isinstance(refused, BodyError) else status_of(refused)
        return Response(status, problem_page("The form was not sent", str(refused)), PAGE_HEADERS)
    if browser:
        location = form.thank_you_url or f"{form.id}?submitted=1"
        return Response(303, b"", {"Location": location, "Cache-Control": "no-store"})
    return json_response(201, {"submission_id": submission_id}, _cors(origin))


def _correct(form: Form, fields: Mapping[str, list[str]], problems: Mapping[str, str]) -> Response:
    """The hosted page again with what was sent and what to correct (the same nonce when it had a
    valid one, so that the corrected post is that page's one submission)."""
    values = {name: sent[0] for name, sent in fields.items() if sent}
    nonce = values.get(NONCE_FIELD, "")
    if not NONCE_PATTERN.match(nonce):
        nonce = secrets.token_urlsafe(18)
    return Response(400, hosted_page(form, form.id, nonce, values, problems), PAGE_HEADERS)
