"""The ``Http`` port on urllib3 (which botocore ships): one POST to a URL a tenant configured, so made
safe against server-side request forgery.

- Only ``https://`` URLs without credentials, whose host resolves to public addresses only: a
  loopback, private, link-local (the instance metadata service), shared, multicast, reserved or
  unspecified address is refused, also when it hides in an IPv6 form (IPv4-mapped, NAT64, 6to4,
  Teredo). The connection goes to the address that was checked, with the host's name for TLS (SNI,
  certificate) and the Host header, so a DNS answer that changes after the check (rebinding)
  cannot point it elsewhere.
- No redirect is followed (a 3xx is the answer); no retry here (the runner retries the run).
- ``timeout`` bounds the whole exchange, connecting and reading; at most ``max_body`` bytes of the
  answer are read, the rest is not (the answer's body is then its first ``max_body`` bytes).

A refused URL is a ``RobotFailed`` that is not retried, with the reason; a network failure or a
timeout is retried. The local runtime allows ``http://`` and loopback addresses
(``allow_loopback=True``) for its own pages and test servers; nothing else does.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, SSLError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from crm.domain import clock
from crm.domain.ports import HttpAnswer
from crm.domain.retry_after import retry_after_in
from crm.domain.robots import RobotFailed

MAX_BODY = 1024 * 1024
CHUNK = 64 * 1024
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))

# What an address that is not public is, in the order it is told (a loopback one is private too).
KINDS = {
    "loopback": "a loopback",
    "link_local": "a link-local",
    "multicast": "a multicast",
    "unspecified": "the unspecified",
    "private": "a private",
    "reserved": "a reserved",
}

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., list]  # socket.getaddrinfo's shape


def _refused(url: str, reason: str) -> RobotFailed:
    return RobotFailed(f"the URL {url} is refused: {reason}", retryable=False)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries to be reached through (a mapped one, NAT64, 6to4,
    Teredo's server), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if any(ip in network for network in NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[0]
    return None


def not_public(ip: IpAddress) -> str | None:
    """Why ``ip`` is no public unicast address (None: it is one)."""
    if isinstance(ip, ipaddress.IPv6Address) and (inner := _embedded_ipv4(ip)) is not None:
        reason = not_public(inner)
        return None if reason is None else f"{reason} (in {ip})"
    for kind, named in KINDS.items():
        if getattr(ip, f"is_{kind}"):
            return f"{ip} is {named} address"
    return None if ip.is_global else f"{ip} is not a public address"


class HttpClient:
    def __init__(
        self,
        *,
        allow_loopback: bool = False,
        max_body: int = MAX_BODY,
        resolver: Resolver = socket.getaddrinfo,
    ) -> None:
        self.allow_loopback = allow_loopback
        self.max_body = max_body
        self.resolver = resolver

    def post(self, url: str, body: bytes, headers: Mapping[str, str], *, timeout: float) -> HttpAnswer:
        deadline = time.monotonic() + timeout
        parts = urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise _refused(url, "its port is not a number from 0 to 65535") from None
        host = parts.hostname
        if parts.scheme != "https" and not (parts.scheme == "http" and self.allow_loopback):
            raise _refused(url, "only https:// URLs are called")
        if not host:
            raise _refused(url, "it names no host")
        if parts.username is not None or parts.password is not None:
            raise _refused(url, "credentials in a URL are not sent; use a header")
        address = self._checked_address(url, host, port, plain=parts.scheme == "http")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        netloc = host if ":" not in host else f"[{host}]"
        default_port = 443 if parts.scheme == "https" else 80
        sent = {**headers, "Host": netloc if port == default_port else f"{netloc}:{port}"}
        pool_timeout = urllib3.Timeout(total=timeout)
        pool: urllib3.HTTPConnectionPool
        if parts.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                str(address),
                port,
                timeout=pool_timeout,
                retries=False,
                cert_reqs="CERT_REQUIRED",
                server_hostname=host,
                assert_hostname=host,
            )
        else:
            pool = urllib3.HTTPConnectionPool(str(address), port, timeout=pool_timeout, retries=False)
        try:
            with pool:
                answer = pool.urlopen(
                    "POST",
                    target,
                    body=body,
                    headers=sent,
                    redirect=False,
                    retries=False,
                    assert_same_host=False,
                    preload_content=False,
                )
                try:
                    content = self._read(answer, deadline, url, timeout)
                finally:
                    answer.release_conn()
                    answer.close()
        except SSLError as error:
            raise RobotFailed(f"{url}: the TLS connection failed ({error})", retryable=False) from None
        except NewConnectionError as error:  # (urllib3 makes it a kind of timeout, which it is not)
            raise RobotFailed(f"{url} could not be reached: {error}") from None
        except Urllib3Timeout:
            raise RobotFailed(f"{url} did not answer within {timeout:g} s") from None
        except HTTPError as error:
            raise RobotFailed(f"{url} could not be reached: {error}") from None
        except ValueError as error:  # http.client refuses a header name or value (CR/LF, say)
            raise RobotFailed(f"{url}: the request is invalid: {error}", retryable=False) from None
        headers_in = {name.lower(): ", ".join(answer.headers.getlist(name)) for name in answer.headers}
        return HttpAnswer(answer.status, headers_in, content)

    def _read(self, answer: urllib3.BaseHTTPResponse, deadline: float, url: str, timeout: float) -> bytes:
        """The answer's body, at most ``max_body`` bytes of it, read before the deadline."""
        content = bytearray()
        while len(content) < self.max_body:
            if time.monotonic() > deadline:
                raise RobotFailed(f"{url} did not answer within {timeout:g} s")
            chunk = answer.read1(min(CHUNK, self.max_body - len(content)))
            if not chunk:
                break
            content += chunk
        return bytes(content)

    def _checked_address(self, url: str, host: str, port: int, *, plain: bool) -> IpAddress:
        """The address to connect to: every address ``host`` resolves to must be public (or, with
        ``allow_loopback``, loopback); plain http goes only to loopback."""
        try:
            addresses = [ipaddress.ip_address(host)]
        except ValueError:
            addresses = self._resolve(url, host, port)
        for ip in addresses:
            if self.allow_loopback and ip.is_loopback:
                continue
            if (reason := not_public(ip)) is not None:
                raise _refused(url, f"{host} resolves to {reason}" if str(ip) != host else reason)
            if plain:
                raise _refused(url, "only https:// URLs are called")
        return addresses[0]

    def _resolve(self, url: str, host: str, port: int) -> list[IpAddress]:
        try:
            found = self.resolver(host, port, type=socket.SOCK_STREAM)
        except UnicodeError:
            raise _refused(url, f"{host!r} is not a host name") from None
        except socket.gaierror as error:
            if error.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
                raise _refused(url, f"{host} does not resolve") from None
            raise RobotFailed(f"{url}: {host} could not be resolved now ({error})") from None
        addresses = [ipaddress.ip_address(entry[4][0].split("%", 1)[0]) for entry in found]
        if not addresses:
            raise _refused(url, f"{host} does not resolve")
        return addresses


def refused_answer(
    service: str, answer: HttpAnswer, message: str, *, retryable: bool | None = None
) -> RobotFailed:
    """A provider's error answer as a robot's failure: a throttle (429), a conflict with a request
    under way (409) and a server error (5xx) are retried, honouring Retry-After; another 4xx is not
    (the same request will not do), unless the provider says otherwise (``retryable``).
    ``message``: the provider's own words, from its error body."""
    if retryable is None:
        retryable = answer.status in (409, 429) or answer.status >= 500
    return RobotFailed(
        f"{service} answered {answer.status}: {message}",
        retryable=retryable,
        retry_after=retry_after_in(answer.headers, clock.now()) if retryable else None,
    )
