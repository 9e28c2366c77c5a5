"""Sites and their visitors.

Automation table: site      pk={tenant}#SITES                       sk={site id}   (with the secrets
                  that sign its contact tokens: the CRM needs them to check an HMAC, so they are
                  kept, not hashed, in the table's encryption at rest)
Items table:      visitor   pk={tenant}#VISITOR#{site id}#{visitor}  sk=VISITOR   (the visitor's last
                  visit, and the contact a page named for it; TTL expires_at: a visitor unseen for
                  VISITOR_KEPT is new again)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError

from crm.adapters.readable import readable
from crm.adapters.tables import AutomationRecord, ItemsTableRecord
from crm.adapters.transactions import condition_failed, refused_as
from crm.domain.errors import Conflict, NotFound
from crm.domain.sites import Site

VISITOR_KEPT = timedelta(days=400)
VISITOR_SK = "VISITOR"


class SiteRecord(AutomationRecord):
    tenant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    origins = ListAttribute(of=UnicodeAttribute)
    created_at = UnicodeAttribute()
    secret = UnicodeAttribute()
    rotated_at = UnicodeAttribute(null=True)
    previous_secret = UnicodeAttribute(null=True)
    previous_valid_until = UnicodeAttribute(null=True)


class VisitorRecord(ItemsTableRecord):
    last_visit_at = UnicodeAttribute()
    last_event_id = UnicodeAttribute()  # the visit that wrote the record (to undo exactly that one)
    contact = UnicodeAttribute(null=True)  # a contact key: email:x@y.z | phone:+E164
    expires_at = NumberAttribute()  # epoch seconds: the table's TTL attribute


@dataclass(frozen=True)
class LastVisit:
    at: datetime
    event_id: str
    contact: str | None
    expires_at: int


def _pk(tenant_id: str) -> str:
    return f"{tenant_id}#SITES"


def _visitor_pk(tenant_id: str, site_id: str, visitor_id: str) -> str:
    return f"{tenant_id}#VISITOR#{site_id}#{visitor_id}"


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _site(record: SiteRecord) -> Site:
    return Site(
        record.tenant_id,
        record.sk,
        record.name,
        tuple(record.origins),
        datetime.fromisoformat(record.created_at),
        record.secret,
        _time(record.rotated_at),
        record.previous_secret,
        _time(record.previous_valid_until),
    )


def _record(site: Site) -> SiteRecord:
    return SiteRecord(
        pk=_pk(site.tenant_id),
        sk=site.id,
        tenant_id=site.tenant_id,
        name=site.name,
        origins=list(site.origins),
        created_at=site.created_at.isoformat(),
        secret=site.secret,
        rotated_at=None if site.rotated_at is None else site.rotated_at.isoformat(),
        previous_secret=site.previous_secret,
        previous_valid_until=None
        if site.previous_valid_until is None
        else site.previous_valid_until.isoformat(),
    )


def create(site: Site) -> None:
    with refused_as(lambda: Conflict(f"site {site.id!r} exists already")):
        _record(site).save(condition=SiteRecord.pk.does_not_exist())


def get(tenant_id: str, site_id: str) -> Site | None:
    try:
        return _site(SiteRecord.get(_pk(tenant_id), site_id, consistent_read=True))
    except DoesNotExist:
        return None


def list_all(tenant_id: str) -> list[Site]:
    return readable(SiteRecord.query(_pk(tenant_id)), _site, "site")


def replace(site: Site, expected_secret: str) -> None:
    """Writes ``site`` over the stored one if that still signs with ``expected_secret`` (no rotation
    meanwhile); Conflict if it does not, NotFound if the site is gone."""
    try:
        _record(site).save(condition=SiteRecord.secret == expected_secret)
    except PutError as error:
        if not condition_failed(error):
            raise
        if get(site.tenant_id, site.id) is None:
            raise NotFound(f"site {site.id!r} does not exist") from None
        raise Conflict(f"site {site.id!r} was changed meanwhile: read it again") from None


def delete(tenant_id: str, site_id: str) -> None:
    with refused_as(lambda: NotFound(f"site {site_id!r} does not exist")):
        SiteRecord(pk=_pk(tenant_id), sk=site_id).delete(condition=SiteRecord.pk.exists())


def record_visit(
    tenant_id: str, site_id: str, visitor_id: str, at: datetime, event_id: str, contact: str | None
) -> LastVisit | None:
    """Records the visit as the visitor's last (and ``contact`` as theirs, when given) and returns the
    visit it replaces: one UpdateItem, so knowing the last visit costs no read of its own."""
    actions = [
        VisitorRecord.kind.set("site_visitor"),
        VisitorRecord.tenant_id.set(tenant_id),
        VisitorRecord.last_visit_at.set(at.isoformat()),
        VisitorRecord.last_event_id.set(event_id),
        VisitorRecord.expires_at.set(int((at + VISITOR_KEPT).timestamp())),
    ]
    if contact is not None:
        actions.append(VisitorRecord.contact.set(contact))
    answer = VisitorRecord._get_connection().update_item(
        _visitor_pk(tenant_id, site_id, visitor_id), VISITOR_SK, actions=actions, return_values="ALL_OLD"
    )
    if not answer.get("Attributes"):
        return None
    old = VisitorRecord.from_raw_data(answer["Attributes"])
    return LastVisit(
        datetime.fromisoformat(old.last_visit_at), old.last_event_id, old.contact, old.expires_at
    )


def undo_visit(
    tenant_id: str, site_id: str, visitor_id: str, event_id: str, replaced: LastVisit | None
) -> None:
    """Puts back the visit ``record_visit`` replaced, unless a later visit was recorded meanwhile."""
    pk = _visitor_pk(tenant_id, site_id, visitor_id)
    still_ours = VisitorRecord.last_event_id == event_id
    try:
        if replaced is None:
            VisitorRecord(pk=pk, sk=VISITOR_SK).delete(condition=still_ours)
        else:
            VisitorRecord(
                pk=pk,
                sk=VISITOR_SK,
                kind="site_visitor",
                tenant_id=tenant_id,
                last_visit_at=replaced.at.isoformat(),
                last_event_id=replaced.event_id,
                contact=replaced.contact,
                expires_at=replaced.expires_at,
            ).save(condition=still_ours)
    except (DeleteError, PutError) as error:
        if not condition_failed(error):
            raise
