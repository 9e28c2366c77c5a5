"""Mail from the CRM to an item's contact, tracked: sending, the opens and clicks it brings back,
and the replies that name it.

Sending is done once per Idempotency-Key: the key names the message (its id is derived from the
key), whose record is reserved before the mail service is asked and marked sent, with the timeline
entry, in one transaction after. A retry finds the record: sent, it answers as the first did (the
trigger event applied again is a redelivery, answered from its once-record); still reserved, the
first request is under way or was cut off after asking the mail service, so whether the mail went
out is not known and it is not sent again (409). A refusal of the mail service frees the key.

Opens and clicks fire *email read* and *link clicked* by reference (the token names the item), and
each delivery is an event whose id says what it is a fact about: ``open:{message}`` and
``click:{message}:{link}``. Every later open of a message is so a redelivery of its first: the
trigger fires on the first open and a re-read, a forward opened by a colleague or a mail client
reloading the image moves nothing again (after a manager moved the item back, say). A click on
another link of the mail is another fact, and may fire a trigger watching that link.

Automated fetches fire nothing (``tracking.automated``): a HEAD request, Apple Mail Privacy
Protection (which loads every image when the mail arrives, read or not), link scanners of mail
gateways, link previews. Gmail's image proxy loads the pixel when the mail is opened, so it counts.

The public base URL of the tracking routes is the caller's: the management API derives it from the
request (``crm.api.emails``); the API's URL cannot be in ApiFunction's environment, which the API
itself refers to (a circular dependency in CloudFormation).

Replies: SES replaces the Message-ID of every message it sends with one of its own, so the signed
id we give a message (``<token@domain>``) also goes into its ``References`` header, which SES
keeps; a reply's References (RFC 5322 3.6.4: the parent's References, then its Message-ID) so
carries it back. ``item_replied_to`` reads it from either header.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from crm.adapters import items, warm
from crm.adapters import outbound_mail as store
from crm.adapters import tenants as tenant_store
from crm.adapters.outbound_mail import SentMail
from crm.adapters.ses import SesMailer
from crm.domain import clock, tracking
from crm.domain.contacts import normal_email
from crm.domain.errors import Conflict, Invalid, NotFound, Throttled
from crm.domain.model import Item, TimelineEntry, TimelineKind, entry_id
from crm.domain.outbound import Draft, Mailer, Sender, compose
from crm.domain.senders import SenderIdentities
from crm.domain.tracking import KeyRing, Purpose
from crm.domain.trigger_events import ItemRef, TriggerEvent
from crm.service.configuration import referenced_employee
from crm.service.items import request_digest
from crm.service.triggers import Applied, apply_trigger_event
from crm.triggers.email_read import EMAIL_READ
from crm.triggers.email_sent import EMAIL_SENT
from crm.triggers.link_clicked import LINK_CLICKED

logger = Logger(child=True)

SENT_SOURCE = "crm_mail"
TRACKING_SOURCE = "tracking"
MAILER: Mailer = SesMailer()

# A warm container keeps each tenant's signing keys it read, with the time until which it takes them
# as current: a key made by a rotation elsewhere is read at its first token (ONE read; a key id still
# unknown then is forged), and a key retired elsewhere stops verifying here within KEYS_FRESH_FOR,
# as a revoked API key or hook secret does.
KEYS_FRESH_FOR = timedelta(seconds=60)
_keys: dict[str, tuple[KeyRing, datetime]] = warm.cache(limit=1024)


def _remember(ring: KeyRing) -> KeyRing:
    _keys[ring.tenant_id] = (ring, clock.now() + KEYS_FRESH_FOR)
    return ring


def _verifying_keys(signer: tracking.Signer) -> KeyRing | None:
    """The keys of the tenant that can tell whether ``signer``'s key verifies: the container's, while
    fresh and while they know that key id; else as stored now. None when the tenant has none."""
    cached = _keys.get(signer.tenant_id)
    if cached is not None and clock.now() < cached[1] and cached[0].knows(signer.key_id):
        return cached[0]
    stored = store.key_ring(signer.tenant_id)
    return None if stored is None else _remember(stored)


def signing_key(tenant_id: str) -> tracking.SigningKey:
    """The tenant's current key, as stored now, so that what is signed after a rotation elsewhere
    uses the new key at once (a token lives as long as its mail); made on first use (two racing
    senders agree: the first stored wins)."""
    ring = store.key_ring(tenant_id)
    if ring is None:
        ring = store.add_signing_key(tenant_id, secrets.token_bytes(tracking.KEY_BYTES), clock.now())
    return _remember(ring).current


def verified(token: str, purpose: Purpose, tenant_id: str | None = None) -> tracking.Claims | None:
    """The claims of a token that a key of the tenant it names, valid now, signed for ``purpose``
    (and, when given, that tenant is ``tenant_id``); None for a forged, changed, foreign one, or one
    of a retired or unknown key."""
    signer = tracking.signed_by(token)
    if signer is None or (tenant_id is not None and signer.tenant_id != tenant_id):
        return None
    keys = _verifying_keys(signer)
    return None if keys is None else tracking.verify(keys, token, purpose, clock.now())


def token(tenant_id: str, claims: tracking.Claims, key: tracking.SigningKey | None = None) -> str:
    """A token of ``claims`` signed with ``key``, by default the tenant's current key."""
    return tracking.sign(key or signing_key(tenant_id), claims)


def reply_id(
    tenant_id: str, item: ItemRef, message_id: str, domain: str, key: tracking.SigningKey | None = None
) -> str:
    """The Message-ID (and References) of a sent message, naming its item verifiably."""
    claims = tracking.Claims(Purpose.REPLY, tenant_id, item, message_id)
    return tracking.message_id_header(token(tenant_id, claims, key), domain)


def item_replied_to(tenant_id: str, message_ids: Iterable[str]) -> ItemRef | None:
    """The item a mail sent from the CRM was about, when ``message_ids`` (a reply's In-Reply-To and
    References ids, in any order) name one of the tenant's sent messages with a valid signature;
    None otherwise (another system's ids, forged, another tenant's)."""
    for message_id in message_ids:
        signed = tracking.token_of_message_id(message_id)
        if signed is not None and (claims := verified(signed, Purpose.REPLY, tenant_id)) is not None:
            return claims.item
    return None


# ---------------------------------------------------------------- managing the signing keys


def signing_keys(tenant_id: str) -> KeyRing:
    """The tenant's keys as they stand now; NotFound before its first mail made one."""
    ring = store.key_ring(tenant_id)
    if ring is None:
        raise NotFound("this tenant has no signing key yet: its first mail sent from the CRM makes one")
    return ring.as_of(clock.now())


def rotate_signing_key(tenant_id: str, grace: timedelta = tracking.DEFAULT_GRACE) -> KeyRing:
    """A new current key, signing from now on; the key it replaces verifies the tokens of mail
    already sent for ``grace`` more (0: not at all), and an older key still in its grace period is
    retired. A tenant without keys gets its first. Conflict if another rotation came first."""
    now = clock.now()
    ring = store.key_ring(tenant_id)
    if ring is None:
        return _remember(store.add_signing_key(tenant_id, secrets.token_bytes(tracking.KEY_BYTES), now))
    rotated = ring.as_of(now).rotated(now, grace)
    store.replace_key_ring(rotated, expected_key_id=ring.current.id)
    return _remember(rotated)


def retire_previous_signing_key(tenant_id: str) -> KeyRing:
    """Ends a rotation's grace period now (after a leak, say): tokens of the previous key are forged
    from now on, here and within KEYS_FRESH_FOR in warm containers. NotFound if none is valid."""
    ring = signing_keys(tenant_id)
    if ring.previous is None:
        raise NotFound("there is no previous signing key still valid")
    retired = ring.without_previous()
    store.replace_key_ring(retired, expected_key_id=ring.current.id)
    return _remember(retired)


# ---------------------------------------------------------------- sender identity


@dataclass(frozen=True)
class ConfiguredSender:
    """The tenant's sender, and the identities the platform operator granted it (the sender's
    address must be one of them, or at one of their domains)."""

    sender: Sender
    identities: SenderIdentities

    @property
    def granted(self) -> bool:
        """False once the operator has withdrawn the grant that covered the address."""
        return self.identities.covers(self.sender.address)


def sender(tenant_id: str) -> ConfiguredSender:
    """NotFound while the tenant has configured none."""
    found, identities = store.sender(tenant_id)
    if found is None:
        raise NotFound(
            "no sender is configured: PUT /mailbox/sender {address, display_name}, with an address "
            f"granted to this tenant ({identities.described()})"
        )
    return ConfiguredSender(found, identities)


def set_sender(tenant_id: str, value: Sender) -> ConfiguredSender:
    """Invalid unless the platform operator granted the tenant the address or its domain (SES's
    identities are the whole account's: without the grant a tenant could send as another). The
    mail service must also have verified it: SES refuses to send from others."""
    identities = tenant_store.sender_identities(tenant_id)
    if not identities.covers(value.address):
        raise Invalid(
            f"address: {value.address} is not granted to this tenant as a sender by the platform "
            f"operator; granted: {identities.described()}"
        )
    store.set_sender(tenant_id, value, clock.now())
    return ConfiguredSender(value, identities)


def _sending_as(tenant_id: str) -> Sender:
    """The sender to send as now: configured, and still granted (Conflict otherwise)."""
    found, identities = store.sender(tenant_id)
    if found is None:
        raise Conflict("no sender is configured for this tenant's mail: PUT /mailbox/sender first")
    if not identities.covers(found.address):
        raise Conflict(
            f"the sender {found.address} is no longer granted to this tenant (the platform operator "
            f"withdrew it), so nothing was sent: PUT /mailbox/sender with a granted address "
            f"({identities.described()})"
        )
    return found


# ---------------------------------------------------------------- sending


@dataclass(frozen=True)
class SentEmail:
    """What a send did: the message, its timeline entry, and what its *email sent* event did."""

    message_id: str
    entry: TimelineEntry
    applied: list[Applied]


def _message_id(idempotency_key: str | None) -> str:
    """Our id of a message: derived from the Idempotency-Key (so a retry names the same message),
    else random; 16 URL-safe characters."""
    raw = (
        secrets.token_bytes(12)
        if idempotency_key is None
        else hashlib.sha256(idempotency_key.encode()).digest()
    )
    return base64.urlsafe_b64encode(raw[:12]).decode()


def _recipient(item: Item, to: str | None) -> str:
    if to is None:
        if not item.emails:
            raise Conflict(f"{item.type} {item.id} has no email address to send to")
        return item.emails[0]
    address = normal_email(to)
    if address not in item.emails:
        raise Invalid(f"to: {to!r} is not one of the emails of {item.type} {item.id}")
    return address


def send_email(
    tenant_id: str,
    type_code: str,
    item_id: str,
    draft: Draft,
    *,
    to: str | None,
    by: str | None,
    idempotency_key: str | None,
    public_base: str,
    key_alone: bool = False,
) -> SentEmail:
    """Sends ``draft`` to the item's contact (its first email, or ``to``, one of its emails) from
    the tenant's sender, with the open pixel and tracked links in its HTML; records it on the
    item's timeline and fires *email sent*. Conflict without a sender, or when the mail service
    refuses; the same Idempotency-Key with another request is Invalid, unless ``key_alone`` (a
    robot's run: its later attempts may render the mail differently, and it is still the one mail)."""
    item = items.get(tenant_id, type_code, item_id)
    if by is not None:
        referenced_employee(tenant_id, by, "by", acting=True)
    recipient = _recipient(item, to)
    request_hash = request_digest(
        {"item": [item.type, item.id], "to": recipient, "by": by, "draft": vars(draft)}
    )
    message_id = _message_id(idempotency_key)
    if idempotency_key is not None and (earlier := store.sent_mail(tenant_id, message_id)) is not None:
        return _sent_before(tenant_id, earlier, None if key_alone else request_hash)
    identity = _sending_as(tenant_id)
    ref = ItemRef(item.type, item.id)
    key = signing_key(tenant_id)  # one read; every token of the mail is signed with this key

    def url(purpose: Purpose, link: int | None = None) -> str:
        signed = token(tenant_id, tracking.Claims(purpose, tenant_id, ref, message_id, link), key)
        return f"{public_base}/t/{purpose.value}/{signed}"

    html, links = draft.html, ()
    if html:
        tracked = tracking.track_links(html, lambda n: url(Purpose.CLICK, n), url(Purpose.OPEN))
        html, links = tracked.html, tracked.links
    at = clock.now()
    raw = compose(
        identity,
        recipient,
        draft.subject,
        draft.text,
        html,
        reply_id(tenant_id, ref, message_id, identity.domain, key),
        at,
    )
    try:
        store.reserve(tenant_id, SentMail(message_id, ref, "sending", request_hash, links, None), at)
    except Conflict:
        # The same key, at the same moment: the first request's record answers.
        earlier = store.sent_mail(tenant_id, message_id)
        if earlier is None:
            raise
        return _sent_before(tenant_id, earlier, None if key_alone else request_hash)
    try:
        service_id = MAILER.send(identity.address, [recipient], raw)
    except (Conflict, Throttled):
        store.release(tenant_id, message_id)  # the mail service said no: nothing went out
        raise
    entry = TimelineEntry(
        entry_id(),
        TimelineKind.EMAIL_SENT,
        at,
        by,
        {
            "message_id": message_id,
            "service_message_id": service_id,
            "from": identity.address,
            "to": recipient,
            "subject": draft.subject,
            "tracked_links": len(links),
        },
    )
    store.record_sent(tenant_id, item, message_id, entry, _entry_dict(entry))
    return SentEmail(message_id, entry, _fire_sent(tenant_id, ref, message_id, at))


def _entry_dict(entry: TimelineEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "kind": entry.kind.value,
        "at": entry.at.isoformat(),
        "by": entry.by,
        "data": entry.data,
    }


def _sent_before(tenant_id: str, earlier: SentMail, request_hash: str | None) -> SentEmail:
    if request_hash is not None and earlier.request_hash != request_hash:
        raise Invalid("this Idempotency-Key was used with another request")
    if earlier.state != "sent" or earlier.answer is None:
        raise Conflict(
            "a mail with this Idempotency-Key is being sent, or its sending was cut off after the mail "
            "service was asked: it is not sent again (see the item's timeline)"
        )
    answer = earlier.answer
    entry = TimelineEntry(
        answer["id"],
        TimelineKind(answer["kind"]),
        datetime.fromisoformat(answer["at"]),
        answer["by"],
        answer["data"],
    )
    return SentEmail(
        earlier.message_id, entry, _fire_sent(tenant_id, earlier.item, earlier.message_id, entry.at)
    )


def _fire_sent(tenant_id: str, ref: ItemRef, message_id: str, at: datetime) -> list[Applied]:
    event = TriggerEvent(
        type=EMAIL_SENT.code,
        source=SENT_SOURCE,
        event_id=f"sent:{message_id}",
        tenant_id=tenant_id,
        occurred_at=at,
        item=ref,
        data={"message_id": message_id},
    )
    return apply_trigger_event(event)


# ---------------------------------------------------------------- opens and clicks


def opened(token_text: str, automated: str | None) -> None:
    """An open of the pixel: *email read* for its item, unless the token is not ours (nothing is
    recorded) or the fetch was ``automated``."""
    claims = verified(token_text, Purpose.OPEN)
    if claims is None or automated is not None:
        return
    _fire(claims, EMAIL_READ.code, f"open:{claims.message_id}", {"message_id": claims.message_id})


def clicked(token_text: str, automated: str | None) -> str:
    """The address a tracked link stands for, as stored when the mail was sent; *link clicked* for
    its item unless the click was ``automated``. NotFound for a token that is not ours."""
    claims = verified(token_text, Purpose.CLICK)
    if claims is None or claims.link is None:
        raise NotFound("this link is not valid")
    # A click that fires reads the message's record and its item in one call; a scanner's, the record.
    if automated is None:
        mail, item = store.sent_mail_and_item(claims.tenant_id, claims.message_id, claims.item)
    else:
        mail, item = store.sent_mail(claims.tenant_id, claims.message_id), None
    if mail is None or claims.link >= len(mail.links):
        raise NotFound("this link is not valid")
    url = mail.links[claims.link]
    if automated is None:
        data = {"message_id": claims.message_id, "url": url}
        _fire(claims, LINK_CLICKED.code, f"click:{claims.message_id}:{claims.link}", data, item)
    return url


def _fire(
    claims: tracking.Claims, type_code: str, event_id: str, data: dict[str, Any], item: Item | None = None
) -> None:
    """Applies the event (to ``item``, the one the claims name, when read already); a failure to
    record is logged, not passed on: the customer still gets the image or the page (a mail client
    does not retry an image, and a click must land)."""
    event = TriggerEvent(
        type=type_code,
        source=TRACKING_SOURCE,
        event_id=event_id,
        tenant_id=claims.tenant_id,
        occurred_at=clock.now(),
        item=claims.item,
        data=data,
    )
    try:
        apply_trigger_event(event, read=item)
    except Exception:
        logger.exception("tracking event %s of %s not recorded", event_id, claims.tenant_id)
