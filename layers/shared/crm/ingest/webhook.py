"""Source: webhook triggers. ``GET|POST /hooks/{secret}/trigger?target=DEAL_25&code=X``: the
parameters in the query, or for a POST in a JSON object or an urlencoded form (the same names;
given twice with different values is 400). ``request_id`` (or an ``Idempotency-Key`` header) names
the call, so a retry is applied once (``crm.service.hooks`` says what happens without one). Other
parameters are ignored, as Bitrix24's callers send some of their own (``auth``, ...).

Answers: 200 with what the triggers did (outcome, stage, the journal entry); 401 for a secret that
opens no hook; 400 for a malformed call; 404 for an unknown item; nothing is written then."""

from __future__ import annotations

from typing import Any

from crm.bodies import BodyError
from crm.ingest.http import Request, Response, json_response
from crm.service import hooks

NAMES = ("target", "code", "request_id")
FORM = "application/x-www-form-urlencoded"


def handle(request: Request) -> Response:
    given = _parameters(request)
    if not given.get("target"):
        raise BodyError(400, "give the item as target, e.g. target=DEAL_25")
    applied = hooks.fire(
        request.path_params.get("secret", ""), given["target"], given.get("code"), given.get("request_id")
    )
    return json_response(200, applied.to_dict())


def _parameters(request: Request) -> dict[str, str]:
    sources: list[dict[str, list[Any]]] = [dict(request.query)]
    if request.method == "POST" and request.body:
        sources.append(_body(request))
    if (key := request.headers.get("idempotency-key")) is not None:
        sources.append({"request_id": [key]})
    given: dict[str, str] = {}
    for source in sources:
        for name in NAMES:
            for value in source.get(name, []):
                if not isinstance(value, str):
                    raise BodyError(400, f"{name}: a text")
                if given.setdefault(name, value) != value:
                    raise BodyError(400, f"{name} is given twice with different values")
    return given


def _body(request: Request) -> dict[str, list[Any]]:
    if request.media_type == FORM:
        return request.form()
    if request.media_type == "application/json":
        document = request.json()
        if not isinstance(document, dict):
            raise BodyError(400, 'the body is a JSON object: {"target": "DEAL_25", "code": "..."}')
        return {name: [value] for name, value in document.items()}
    raise BodyError(415, f"send the parameters as JSON or as {FORM}, or in the query")
