"""Inbound mail as the CRM sees it: who wrote, about what, with which message id, and whether the
sender can be believed.

Who the sender is. The one address of the message's one ``From`` header; never Reply-To, Sender
or the envelope sender (SMTP MAIL FROM), which anyone can set to anything.

When the sender is authenticated (and the mail may land on that contact's timeline), from SES's
receipt verdicts and the raw message:
1. DMARC PASS: SES has checked From's domain against SPF and DKIM with alignment itself;
2. else SPF PASS, and the envelope sender's domain (what SPF vouches for) is aligned with From's;
3. else DKIM PASS, and every ``DKIM-Signature`` of the message signs for (``d=``) a domain aligned
   with From's. SES's event says that a signature verified, not whose, so all of them must be
   aligned for the one that verified to be; mail also signed by its provider's domain needs 1 or 2.
Aligned: the same domain, or one a subdomain of the other (DMARC's relaxed alignment, without a
public-suffix list: the shorter must have a dot, and a public suffix publishes no SPF or DKIM for
anyone). Anything else (no or several From addresses, FAIL, GRAY or PROCESSING_FAILED verdicts,
unaligned domains) is unverified mail: kept for the tenant to review, on no contact's timeline.

Parsing never fails on what senders send: headers over ``HEADER_LIMIT`` are cut before they are
decoded, unknown charsets and broken MIME decode with replacement characters, and the subject
(without CR/LF or other control characters), the snippet and the message id are capped.

Which mail a message answers: the Message-IDs its In-Reply-To and References name, the direct
parent first, then the thread from its newest message back, at most ``THREAD_LIMIT`` of them;
anything in those headers that is not a ``<left@right>`` id is skipped.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from html.parser import HTMLParser
from typing import Any

from crm.domain.contacts import EMAIL_PATTERN
from crm.domain.model import TENANT_PATTERN

SUBJECT_LIMIT = 998  # RFC 5322's line limit
SNIPPET_LIMIT = 2000
MESSAGE_ID_LIMIT = 998
# Raw header characters decoded: room for a subject at its limit as encoded words, and no more.
HEADER_LIMIT = 8 * SUBJECT_LIMIT
BODY_LIMIT = 256 * 1024  # bytes of the body read for the snippet (HTML may open with a long head)
# Message-IDs of the thread kept: the mail the CRM sent is among a reply's last few.
THREAD_LIMIT = 20
PASS = "PASS"

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
# A msg-id (RFC 5322 3.6.4): two halves of printable ASCII but "<", ">" and "@", joined by "@".
_ID_HALF = r"[\x21-\x3b\x3d\x3f\x41-\x7e]{1,995}"
_MESSAGE_ID = re.compile(rf"<({_ID_HALF}@{_ID_HALF})>")


@dataclass(frozen=True)
class Verdicts:
    """SES's receipt verdicts: PASS, FAIL, GRAY, PROCESSING_FAILED (or DISABLED for scans)."""

    spf: str
    dkim: str
    dmarc: str
    spam: str
    virus: str

    @property
    def refused(self) -> bool:
        """Spam and viruses are recorded nowhere; the raw message stays in the bucket."""
        return "FAIL" in (self.spam, self.virus)

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Delivery:
    """One message as SES's receipt event announces it, before its raw content is read."""

    ses_message_id: str
    envelope_sender: str
    recipients: tuple[str, ...]
    received_at: datetime
    verdicts: Verdicts
    bucket: str
    key: str

    @property
    def raw(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class InboundMail:
    message_id: str
    sender: str | None  # the From address when there is exactly one, lower-cased
    from_header: str  # what From says, decoded and capped, to show on unverified mail
    subject: str
    snippet: str
    signing_domains: tuple[str, ...]  # d= of every DKIM-Signature, lower-cased
    # The Message-IDs this message answers (In-Reply-To, then References newest first), as <id>.
    replies_to: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The message's dedupe key: the same Message-ID is the same message, however delivered."""
        return hashlib.sha256(self.message_id.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class UnverifiedMail:
    """Mail to a tenant's mailbox whose sender the verdicts do not authenticate."""

    message_id: str
    sender: str  # From as the message states it
    envelope_sender: str
    subject: str
    snippet: str
    received_at: datetime
    verdicts: Verdicts
    raw: str

    @classmethod
    def of(cls, mail: InboundMail, delivery: Delivery) -> UnverifiedMail:
        return cls(
            mail.message_id,
            mail.from_header,
            delivery.envelope_sender,
            mail.subject,
            mail.snippet,
            delivery.received_at,
            delivery.verdicts,
            delivery.raw,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"received_at": self.received_at.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UnverifiedMail:
        return cls(
            **data
            | {
                "received_at": datetime.fromisoformat(data["received_at"]),
                "verdicts": Verdicts(**data["verdicts"]),
            }
        )


# ---------------------------------------------------------------- addresses and authentication


def mailbox_of(recipient: str, domain: str) -> tuple[str, str] | None:
    """(tenant id, token) of an address ``{tenant}+{token}@{domain}``, or None."""
    local, _, host = recipient.strip().lower().rpartition("@")
    tenant_id, _, token = local.partition("+")
    if host != domain.lower() or not TENANT_PATTERN.match(tenant_id) or not token:
        return None
    return tenant_id, token


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip().strip(".").lower()


def aligned(domain: str, other: str) -> bool:
    if not domain or not other:
        return False
    shorter, longer = sorted((domain, other), key=len)
    return "." in shorter and (longer == shorter or longer.endswith(f".{shorter}"))


def authenticated_sender(mail: InboundMail, verdicts: Verdicts, envelope_sender: str) -> str | None:
    """The sender, if the verdicts authenticate it (the rule is in this module's docstring)."""
    if mail.sender is None:
        return None
    domain = _domain(mail.sender)
    if verdicts.dmarc == PASS:
        return mail.sender
    if verdicts.spf == PASS and aligned(_domain(envelope_sender), domain):
        return mail.sender
    signers = mail.signing_domains
    if verdicts.dkim == PASS and signers and all(aligned(d, domain) for d in signers):
        return mail.sender
    return None


# ---------------------------------------------------------------- parsing


def _headers(message: Message, name: str, keep_end: bool = False) -> list[Any]:
    """Every ``name`` header, cut to HEADER_LIMIT raw characters before it is decoded (decoding a
    600 KB folded header costs a second; an unreadable one is kept as its raw text): its first
    ones, or with ``keep_end`` its last (References ends with the newest mail of the thread)."""
    found = []
    for field, value in message.raw_items():
        if field.lower() == name.lower():
            value = "".join(value.splitlines())
            value = value[-HEADER_LIMIT:] if keep_end else value[:HEADER_LIMIT]
            try:
                found.append(policy.default.header_factory(name, value))
            except Exception:  # any sender-made header must parse to something
                found.append(value)
    return found


def _one_line(text: str, limit: int) -> str:
    return " ".join(_CONTROL.sub(" ", text).split())[:limit]


def _sender(froms: list[Any]) -> str | None:
    addresses = [a for header in froms for a in getattr(header, "addresses", ())]
    if len(froms) != 1 or len(addresses) != 1:
        return None
    address = addresses[0].addr_spec.strip().lower()
    return address if EMAIL_PATTERN.match(address) and len(address) <= 254 else None


def _signing_domain(signature: Any) -> str:
    """The d= tag of a DKIM-Signature (a tag list: ``v=1; a=rsa-sha256; d=example.com; ...``)."""
    for tag in "".join(str(signature).split()).split(";"):
        name, _, value = tag.partition("=")
        if name == "d":
            return value.strip(".").lower()
    return ""


class _Text(HTMLParser):
    """The readable text of an HTML body, without scripts and styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._hidden += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def _body_text(message: EmailMessage) -> str:
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except Exception:  # broken MIME structure: no readable body
        return ""
    if part is None or part.is_multipart():
        return ""
    payload = (part.get_payload(decode=True) or b"")[:BODY_LIMIT]
    charset = part.get_content_charset() or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"  # x-klingon and friends: read what is readable, replace the rest
    text = payload.decode(charset, errors="replace")
    if part.get_content_subtype() == "html":
        parser = _Text()
        parser.feed(text)
        text = " ".join(parser.parts)
    return text


def _thread(in_reply_to: list[Any], references: list[Any]) -> tuple[str, ...]:
    """The ids a reply names, the direct parent first (see the module docstring)."""

    def ids(headers: list[Any]) -> list[str]:
        found = _MESSAGE_ID.findall(" ".join(str(h) for h in headers))
        return [f"<{i}>" for i in found if len(i) + 2 <= MESSAGE_ID_LIMIT]

    return tuple(dict.fromkeys([*ids(in_reply_to), *reversed(ids(references))]))[:THREAD_LIMIT]


def parse_inbound(raw: bytes, fallback_id: str) -> InboundMail:
    """Reads a raw RFC 5322 message; ``fallback_id`` (the SES message id) names one without Message-ID."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    froms = _headers(message, "From")
    message_ids = _headers(message, "Message-ID")
    subjects = _headers(message, "Subject")
    return InboundMail(
        message_id=("".join(str(message_ids[0]).split()) if message_ids else "")[:MESSAGE_ID_LIMIT]
        or fallback_id,
        sender=_sender(froms),
        from_header=_one_line(", ".join(str(f) for f in froms), SUBJECT_LIMIT),
        subject=_one_line(str(subjects[0]), SUBJECT_LIMIT) if subjects else "",
        snippet=_one_line(_body_text(message), SNIPPET_LIMIT),
        signing_domains=tuple(_signing_domain(s) for s in _headers(message, "DKIM-Signature")),
        replies_to=_thread(_headers(message, "In-Reply-To"), _headers(message, "References", keep_end=True)),
    )
