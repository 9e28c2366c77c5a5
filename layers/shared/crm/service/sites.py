"""Sites (tenant configuration) and the visits their pages report, which fire *site visit* and
*client returned to site* triggers for the visitor's contact (``crm.domain.sites`` says what a
public site key may do, and what "returned" means).

A visit is recorded on the visitor's record first (one UpdateItem that also answers the previous
visit, and links the visitor to the contact a verified ``contact_token`` vouches for); then the
events are applied by contact. If applying fails, the visitor's record is put back, so the page's
retry decides "returned" as the first attempt did. A visit by a visitor with no contact (vouched
for now or linked before) fires nothing; an expired or forged token makes the visit anonymous.

Secrets: shown once (in the answers to creating and rotating); after a rotation the previous one
verifies for a grace period. A warm container keeps a site it read for ``SITE_KEPT``, so a
rotated-out or revoked secret may verify tokens there for up to a minute more.

Event ids: the page's ``event_id`` when given, else a digest of the site, visitor, page and minute
(a beacon resent at once is one event). DynamoDB calls per visit of a known contact, warm: the
visitor's UpdateItem, then per event the contact's Query, one BatchGetItem and a transaction per
item (4 for a visit of one item's contact); an unlinked visitor's, 1. The site itself is read once
per minute per container (``SITE_KEPT``).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from crm.adapters import sites as store
from crm.adapters import warm
from crm.domain import clock
from crm.domain.errors import NotFound
from crm.domain.hooks import DEFAULT_GRACE
from crm.domain.sites import Site, TokenVerdict, Visit, is_return, new_secret, parse_key
from crm.domain.trigger_events import Contact, ContactKind, TriggerEvent
from crm.service.triggers import apply_trigger_event
from crm.triggers.returned_to_site import RETURNED_TO_SITE
from crm.triggers.visit import VISIT

SOURCE = "site"
# A warm container keeps a site it read (or found missing) this long: a deleted site's key works
# for up to a minute more there; origins changed take as long.
SITE_KEPT = timedelta(seconds=60)
_kept: dict[tuple[str, str], tuple[datetime, Site | None]] = warm.cache(limit=1024)


def create(tenant_id: str, name: str, origins: list[str]) -> Site:
    site = Site(tenant_id, secrets.token_hex(6), name.strip(), tuple(origins), clock.now(), new_secret())
    store.create(site)
    return site


def sites(tenant_id: str) -> list[Site]:
    now = clock.now()
    return [site.as_of(now) for site in store.list_all(tenant_id)]


def get(tenant_id: str, site_id: str) -> Site:
    site = store.get(tenant_id, site_id)
    if site is None:
        raise NotFound(f"site {site_id!r} does not exist")
    return site.as_of(clock.now())


def rotate(tenant_id: str, site_id: str, grace: timedelta = DEFAULT_GRACE) -> Site:
    """A new secret for the site; the current one keeps verifying tokens for ``grace`` (0: stops
    now), so pages signed a moment ago still link their visitors."""
    site = get(tenant_id, site_id)
    rotated = site.rotated(new_secret(), clock.now(), grace)
    store.replace(rotated, expected_secret=site.secret)
    return rotated


def revoke_previous(tenant_id: str, site_id: str) -> Site:
    """Ends a rotation's grace period now: only the current secret verifies tokens."""
    site = get(tenant_id, site_id)
    if site.previous_secret is None:
        raise NotFound(f"site {site_id!r} has no previous secret still valid")
    done = site.without_previous()
    store.replace(done, expected_secret=site.secret)
    return done


def delete(tenant_id: str, site_id: str) -> None:
    """The key stops working at once for a new container, within SITE_KEPT for a warm one."""
    store.delete(tenant_id, site_id)


def site_for(site_key: str, origin: str | None) -> Site:
    """The site ``site_key`` names, when ``origin`` is one of its origins: NotFound for an unknown
    key, Forbidden for another origin (a CORS preflight asks this)."""
    named = parse_key(site_key)
    site = None if named is None else _site(*named)
    if site is None:
        raise NotFound("there is no site with this key")
    site.check_origin(origin)
    return site


def visit(site: Site, document: object) -> TokenVerdict | None:
    """Records a page view ``site`` (from ``site_for``) reported and fires the triggers it should;
    Invalid (nothing written) for a malformed visit. Answers what became of the visit's contact
    token (None: it had none), which tells the site's developer nothing the token's holder does not
    know already."""
    seen = Visit.of(document, site)
    now = clock.now()
    checked = (
        None if seen.contact_token is None else site.vouched_contact(seen.contact_token, seen.visitor_id, now)
    )
    vouched = None if checked is None else checked.contact
    event_id = (
        seen.event_id
        or hashlib.sha256(
            f"{site.id}|{seen.visitor_id}|{seen.url}|{now:%Y-%m-%dT%H:%M}".encode()
        ).hexdigest()[:32]
    )
    contact_key = None if vouched is None else f"{vouched.kind.value}:{vouched.value}"
    last = store.record_visit(site.tenant_id, site.id, seen.visitor_id, now, event_id, contact_key)
    contact = vouched or _contact(None if last is None else last.contact)
    verdict = None if checked is None else checked.verdict
    if contact is None:
        return verdict
    fired = [(VISIT.code, "v")]
    if last is not None and is_return(last.at, now):
        fired.append((RETURNED_TO_SITE.code, "r"))
    try:
        for type_code, mark in fired:
            event = TriggerEvent(
                type=type_code,
                source=SOURCE,
                event_id=f"{site.id}:{mark}:{event_id}",
                tenant_id=site.tenant_id,
                occurred_at=now,
                contact=contact,
                data={"url": seen.url},
            )
            apply_trigger_event(event, now=now)
    except BaseException:
        store.undo_visit(site.tenant_id, site.id, seen.visitor_id, event_id, last)
        raise
    return verdict


def _site(tenant_id: str, site_id: str) -> Site | None:
    now = clock.now()
    kept = _kept.get((tenant_id, site_id))
    if kept is not None and now < kept[0]:
        return kept[1]
    site = store.get(tenant_id, site_id)
    _kept[(tenant_id, site_id)] = (now + SITE_KEPT, site)
    return site


def _contact(key: str | None) -> Contact | None:
    if key is None:
        return None
    kind, _, value = key.partition(":")
    return Contact(ContactKind(kind), value)
