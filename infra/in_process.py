"""The handlers' DynamoDB calls answered by moto's backend in this process, without the HTTP hop.

The handlers run in the runtime's process, beside moto's server. Their DynamoDB and DynamoDB
Streams requests, built and signed for the server's endpoint as any client's are, are handed from
botocore's ``before-send`` event to the very handler the server routes them to (moto's
``DynamoHandler``, with ``infra.moto_dynamodb``'s isolation): the same tables, stream and answers,
without a socket, HTTP parsing and Werkzeug's dispatch per call, which were most of a stage move's
cost. Other services, and clients outside this process (curl, the tests, the operator command),
still go through the server.
"""

from __future__ import annotations

from typing import Any

import botocore.handlers
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from moto.core.botocore_stubber import MockRawResponse, normalize_request
from moto.core.exceptions import HTTPException
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

# The JSON protocol names its API in X-Amz-Target: "DynamoDB_20120810.GetItem".
_HANDLERS = {
    "DynamoDB_20120810": DynamoHandler,
    "DynamoDBStreams_20120810": DynamoDBStreamsHandler,
}


class InProcess:
    """botocore's before-send hook for requests to ``endpoint`` (empty: answers nothing)."""

    def __init__(self) -> None:
        self.endpoint = ""

    def __call__(self, request: AWSPreparedRequest, **kwargs: Any) -> AWSResponse | None:
        if not self.endpoint or not request.url.startswith(self.endpoint):
            return None
        target = request.headers.get("X-Amz-Target")
        if isinstance(target, bytes):
            target = target.decode()
        handler = _HANDLERS.get((target or "").split(".")[0])
        if handler is None:
            return None
        normalized = normalize_request(request)  # what moto's own in-process mock hands its handlers
        try:
            status, headers, body = handler.dispatch(normalized, normalized.raw_url, normalized.headers)
        except HTTPException as error:  # as moto's server and mock answer it
            status, headers, body = error.code, error.get_headers(), error.get_body()
        return AWSResponse(request.url, status, headers, MockRawResponse(body))


_HOOK = InProcess()


def install(endpoint: str) -> None:
    """From now on, every botocore session made in this process sends its DynamoDB requests for
    ``endpoint`` to moto in-process (sessions made earlier keep the HTTP hop)."""
    _HOOK.endpoint = endpoint
    if ("before-send", _HOOK) not in botocore.handlers.BUILTIN_HANDLERS:
        botocore.handlers.BUILTIN_HANDLERS.append(("before-send", _HOOK))


def uninstall() -> None:
    _HOOK.endpoint = ""
