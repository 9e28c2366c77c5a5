"""The robots' HTTP port (``crm.adapters.http.HttpClient``) against a real server on loopback (as the
local runtime allows), and its refusals of URLs that could reach inside the network (SSRF): what is
refused is never connected to."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from crm.adapters.http import HttpClient, not_public, refused_answer
from crm.domain.ports import HttpAnswer
from crm.domain.robots import RobotFailed


class Handler(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, dict[str, str], bytes]]] = []

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Handler.received.append((self.path, dict(self.headers), body))
        if self.path == "/slow":
            time.sleep(1.5)
        if self.path == "/drip":  # a byte every 0.2 s: each read is quick, the whole is not
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            for _ in range(100):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.2)
            return
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/target")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/big":
            payload = b"y" * (3 * 1024 * 1024)
        else:
            payload = b'{"ok": true, "echo": "' + body + b'"}'
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Multi", "a")
        self.send_header("X-Multi", "b")
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client read its cap
            self.wfile.write(payload)


@pytest.fixture
def server() -> Iterator[str]:
    Handler.received = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


LOCAL = HttpClient(allow_loopback=True)


def test_a_post_carries_its_body_and_headers_and_returns_the_answer(server):
    answer = LOCAL.post(f"{server}/hook?a=1", b"hello", {"X-Signature": "s1"}, timeout=5)
    assert answer.status == 201
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-multi"] == "a, b"
    assert answer.body == b'{"ok": true, "echo": "hello"}'
    ((path, headers, body),) = Handler.received
    assert (path, body, headers["X-Signature"]) == ("/hook?a=1", b"hello", "s1")
    assert headers["Host"] == server.removeprefix("http://")


def test_a_redirect_is_the_answer_not_followed(server):
    answer = LOCAL.post(f"{server}/redirect", b"{}", {}, timeout=5)
    assert (answer.status, answer.headers["location"]) == (302, "/target")
    assert [path for path, _, _ in Handler.received] == ["/redirect"]


def test_an_answer_is_read_up_to_the_cap_only(server):
    client = HttpClient(allow_loopback=True, max_body=1000)
    assert client.post(f"{server}/big", b"", {}, timeout=5).body == b"y" * 1000
    assert len(LOCAL.post(f"{server}/big", b"", {}, timeout=5).body) == 1024 * 1024


def test_a_server_too_slow_to_answer_is_a_retryable_failure(server):
    with pytest.raises(RobotFailed, match=r"did not answer within 0\.5 s") as failed:
        LOCAL.post(f"{server}/slow", b"", {}, timeout=0.5)
    assert failed.value.retryable


def test_the_timeout_bounds_the_whole_answer_not_each_read(server):
    started = time.monotonic()
    with pytest.raises(RobotFailed, match="did not answer within 1 s") as failed:
        LOCAL.post(f"{server}/drip", b"", {}, timeout=1)
    assert failed.value.retryable
    assert time.monotonic() - started < 3


def test_a_closed_port_is_a_retryable_network_failure():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: nobody listens
    with pytest.raises(RobotFailed, match="could not be reached") as failed:
        LOCAL.post(f"http://127.0.0.1:{port}/", b"", {}, timeout=2)
    assert failed.value.retryable


def test_a_header_that_would_split_the_request_is_refused(server):
    with pytest.raises(RobotFailed, match="the request is invalid") as failed:
        LOCAL.post(f"{server}/hook", b"", {"X-Evil": "a\r\nX-Injected: 1"}, timeout=2)
    assert not failed.value.retryable
    assert Handler.received == []


# ---------------------------------------------------------------- SSRF


def resolving(*addresses: str):
    """A resolver answering ``addresses`` for every host, as getaddrinfo does."""
    asked: list[str] = []

    def resolve(host, port, type=0):
        asked.append(host)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    resolve.asked = asked
    return resolve


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://example.com/hook", "only https:// URLs are called"),
        ("ftp://example.com/hook", "only https:// URLs are called"),
        ("https:///hook", "it names no host"),
        ("https://user:pw@example.com/hook", "credentials in a URL"),
        ("https://example.com:99999/hook", "port is not a number"),
        ("https://127.0.0.1/hook", "127.0.0.1 is a loopback address"),
        ("https://10.0.0.1/hook", "10.0.0.1 is a private address"),
        ("https://192.168.1.20:8443/hook", "192.168.1.20 is a private address"),
        ("https://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("https://100.64.0.7/hook", "100.64.0.7 is not a public address"),
        ("https://224.0.0.1/hook", "224.0.0.1 is a multicast address"),
        ("https://0.0.0.0/hook", "0.0.0.0 is the unspecified address"),
        ("https://240.0.0.1/hook", "240.0.0.1 is a private address"),
        ("https://[::1]/hook", "::1 is a loopback address"),
        ("https://[fe80::1]/hook", "fe80::1 is a link-local address"),
        ("https://[fd00::1]/hook", "fd00::1 is a private address"),
        ("https://[::ffff:10.0.0.1]/hook", "10.0.0.1 is a private address (in ::ffff:10.0.0.1)"),
        ("https://[64:ff9b::a9fe:a9fe]/hook", "169.254.169.254 is a link-local address"),
        ("https://[2002:a00:1::]/hook", "10.0.0.1 is a private address"),
    ],
)
def test_urls_that_could_reach_inside_are_refused_for_good(url, reason):
    resolver = resolving("93.184.215.14")
    with pytest.raises(RobotFailed, match="is refused") as failed:
        HttpClient(resolver=resolver).post(url, b"", {}, timeout=1)
    assert reason in str(failed.value)
    assert not failed.value.retryable


def test_a_host_resolving_to_a_private_address_is_refused():
    resolver = resolving("10.0.0.1")
    with pytest.raises(
        RobotFailed, match=r"intranet\.example\.com resolves to 10\.0\.0\.1 is a private"
    ) as failed:
        HttpClient(resolver=resolver).post("https://intranet.example.com/x", b"", {}, timeout=1)
    assert not failed.value.retryable
    assert resolver.asked == ["intranet.example.com"]


def test_a_host_with_one_private_address_among_public_ones_is_refused():
    resolver = resolving("93.184.215.14", "127.0.0.1")
    with pytest.raises(RobotFailed, match=r"127\.0\.0\.1 is a loopback address"):
        HttpClient(resolver=resolver).post("https://mixed.example.com/x", b"", {}, timeout=1)


def test_loopback_is_refused_unless_allowed_and_private_stays_refused_when_it_is(server):
    port = server.rsplit(":", 1)[1]
    with pytest.raises(RobotFailed, match="only https"):
        HttpClient().post(f"{server}/hook", b"", {}, timeout=1)
    with pytest.raises(RobotFailed, match="loopback"):
        HttpClient(resolver=resolving("127.0.0.1")).post(f"https://localhost:{port}/", b"", {}, timeout=1)
    with pytest.raises(RobotFailed, match="private"):
        HttpClient(allow_loopback=True).post("http://10.0.0.1/", b"", {}, timeout=1)
    with pytest.raises(RobotFailed, match="only https"):  # plain http only to loopback
        HttpClient(allow_loopback=True, resolver=resolving("93.184.215.14")).post(
            "http://example.com/", b"", {}, timeout=1
        )
    assert Handler.received == []


def test_the_connection_goes_to_the_address_that_was_checked(server):
    """A rebinding DNS answers a public address to the check and a private one to the connection:
    the client resolves once and connects to what it checked (here loopback, allowed)."""
    port = int(server.rsplit(":", 1)[1])
    answers = iter([["127.0.0.1"], ["10.0.0.1"]])

    def rebinding(host, port_, type=0):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port_)) for a in next(answers)]

    answer = HttpClient(allow_loopback=True, resolver=rebinding).post(
        f"http://hooks.example.com:{port}/hook", b"x", {}, timeout=5
    )
    assert answer.status == 201
    ((_, headers, _),) = Handler.received
    assert headers["Host"] == f"hooks.example.com:{port}"


def test_a_host_that_does_not_resolve_is_refused_and_a_resolver_outage_is_retried():
    def nxdomain(host, port, type=0):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    def outage(host, port, type=0):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    with pytest.raises(RobotFailed, match="does not resolve") as gone:
        HttpClient(resolver=nxdomain).post("https://nowhere.example/", b"", {}, timeout=1)
    with pytest.raises(RobotFailed, match="could not be resolved now") as busy:
        HttpClient(resolver=outage).post("https://nowhere.example/", b"", {}, timeout=1)
    assert (gone.value.retryable, busy.value.retryable) == (False, True)


def test_public_addresses_pass():
    import ipaddress

    for address in ("93.184.215.14", "8.8.8.8", "2606:4700::1111"):
        assert not_public(ipaddress.ip_address(address)) is None


def test_a_provider_error_answer_is_retried_only_when_it_may_pass():
    def answer(status, **headers):
        return HttpAnswer(status, headers, b"")

    assert not refused_answer("P", answer(400), "bad").retryable
    assert not refused_answer("P", answer(404), "gone").retryable
    throttled = refused_answer("P", answer(429, **{"retry-after": "30"}), "slow down")
    assert (throttled.retryable, throttled.retry_after, str(throttled)) == (
        True,
        30,
        "P answered 429: slow down",
    )
    assert refused_answer("P", answer(503), "down").retryable
    assert refused_answer("P", answer(500), "x", retryable=False).retryable is False
    passed = answer(429, **{"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert refused_answer("P", passed, "x").retry_after == 0
    assert refused_answer("P", answer(429, **{"retry-after": "soon"}), "x").retry_after is None
