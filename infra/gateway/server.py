"""The gateway on 127.0.0.1 over HTTP, served by Werkzeug (threaded, one connection per request).

Before the gateway sees a request, the server refuses what API Gateway's front end refuses: a
Content-Length that is not a non-negative integer (400, and the connection is closed: where the
body ends is unknown) and a body over 10 MB (413, read and dropped so the client sees the answer).
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.serving import WSGIRequestHandler, make_server

from infra.gateway.messages import MAX_BODY, Request, Response, too_long

log = logging.getLogger("infra.api")

LocalHandler = Callable[[Request], Response | None]
_RAW_HEADERS = "crm.raw_headers"
# Set by the server from the body's own length; a function's own values would contradict it.
_SERVER_HEADERS = {"content-length", "transfer-encoding", "connection"}
_DRAIN_SECONDS = 1.0


class HttpServer:
    """A threading HTTP server on 127.0.0.1: ``local`` answers the runtime's own ``/_local/``
    routes, everything else goes through the gateway."""

    def __init__(self, gateway: Any, local: LocalHandler, port: int) -> None:
        # Bound here, so a port in use is an OSError for the caller (Werkzeug would exit the process).
        listener = socket.create_server(("127.0.0.1", port))
        try:
            self._server = make_server(
                "127.0.0.1",
                listener.getsockname()[1],
                _Application(gateway, local),
                threaded=True,
                request_handler=_RequestHandler,
                fd=listener.fileno(),
            )
        finally:
            listener.close()  # Werkzeug works on its own duplicate of the socket
        self.port = self._server.port
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="api", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()  # serve_forever closes the listening socket as it returns
        self._thread.join()


class _RequestHandler(WSGIRequestHandler):
    # An answer goes out in two writes (head, body): with Nagle's algorithm the second waits for
    # the client's delayed ACK, about 40 ms per request.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        # The WSGI environ upper-cases header names, joins repeated ones and drops names with "_";
        # API Gateway passes them on as the client sent them.
        environ[_RAW_HEADERS] = list(self.headers.items())
        return environ

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug('"%s" %s %s', self.requestline, code, size)


class _Application:
    """The WSGI application: the request as the gateway reads it, its answer back."""

    def __init__(self, gateway: Any, local: LocalHandler) -> None:
        self.gateway = gateway
        self.local = local

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        response = self._answer(environ)
        headers = [(key, value) for key, value in response.headers if key.lower() not in _SERVER_HEADERS]
        headers.append(("Content-Length", str(len(response.body))))
        reason = HTTP_STATUS_CODES.get(response.status, "Unknown")
        start_response(f"{response.status} {reason}", headers)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [response.body]

    def _answer(self, environ: dict[str, Any]) -> Response:
        raw_headers: list[tuple[str, str]] = environ[_RAW_HEADERS]
        lengths = {value.strip() for key, value in raw_headers if key.lower() == "content-length"}
        if len(lengths) > 1 or not all(value.isascii() and value.isdigit() for value in lengths):
            _drop_the_rest(environ)
            return Response.json(400, {"message": "Content-Length must be one non-negative integer"})
        body = _body(environ, int(next(iter(lengths), "0")))
        if body is None:
            _drop_the_rest(environ)
            return too_long()
        # Werkzeug's environ holds the path and query as Latin-1 text of their UTF-8 bytes (WSGI).
        path = environ["PATH_INFO"].encode("latin-1").decode("utf-8", "replace")
        if path != "/":
            path = path.rstrip("/")  # API Gateway ignores a trailing slash
        request = Request(
            method=environ["REQUEST_METHOD"],
            path=path,
            query=parse_qsl(
                environ["QUERY_STRING"].encode("latin-1").decode("utf-8", "replace"), keep_blank_values=True
            ),
            headers=raw_headers,
            body=body,
            source_ip=environ["REMOTE_ADDR"],
            port=int(environ["SERVER_PORT"]),
        )
        try:
            return self.local(request) or self.gateway.handle(request)
        except Exception:
            log.exception("%s %s: the local runtime failed", request.method, request.path)
            return Response.json(500, {"message": "local runtime error (see its console)"})


def _drop_the_rest(environ: dict[str, Any]) -> None:
    """The client may still be sending a body that will not be read. Werkzeug reads and drops what
    arrives before it closes the connection (so the client sees the answer, not a reset); a client
    that stops sending without closing must not hold the connection open."""
    environ["werkzeug.socket"].settimeout(_DRAIN_SECONDS)


def _body(environ: dict[str, Any], length: int) -> bytes | None:
    """The request body, or None when it is over API Gateway's limit (Werkzeug drains the rest
    after the answer)."""
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):  # chunked: Werkzeug de-chunks, the end is marked
        body = stream.read(MAX_BODY + 1)
        return None if len(body) > MAX_BODY else body
    if length > MAX_BODY:
        return None
    return stream.read(length) if length else b""
