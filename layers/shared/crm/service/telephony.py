"""Telephony: the tenant's lines (``/automation/telephony-lines``), and the calls their providers
report as *missed call*, *incoming call* and *outgoing call* trigger events (``crm.domain.telephony``).

A call reaches the open items of the client's number; each gets the call on its timeline, once
however often the report is delivered, in the transaction of the trigger decision. A number no
item has gets the item the line's setting says (``unknown_caller``: "missed call from a new number:
a lead in Call back"), or the tenant's telephony source setting when the line has none.

DynamoDB calls per call report of a known client, warm: the contact look-up (the contact index,
then the items), then the decision's transaction (3, ``make bench``). The line is kept by the warm
container for ``LINE_KEPT``: a deleted line may still take reports there that long, and a report
signed with a secret the kept line does not have makes it read the line again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from crm.adapters import items as item_store
from crm.adapters import telephony_lines as store
from crm.adapters import warm
from crm.adapters.along import PerItem
from crm.bodies import BadValue, parse_json
from crm.domain import clock, signatures
from crm.domain.errors import Invalid, NotFound, Unauthorized
from crm.domain.hooks import DEFAULT_GRACE, MAX_GRACE
from crm.domain.model import TimelineEntry, TimelineKind
from crm.domain.sources import Source, SourceSettings, UnknownContact
from crm.domain.telephony import (
    PBX_SIGNATURE,
    Call,
    CallOutcome,
    Line,
    Passing,
    Provider,
    check_auth_token,
    new_line_id,
    new_pbx_secret,
    pbx_call,
    tenant_of_line,
    twilio_call,
    verify_twilio,
)
from crm.domain.trigger_events import Contact, ContactKind, TriggerEvent
from crm.service import sources
from crm.service.triggers import Applied, apply_trigger_event

SOURCE = "telephony"
LINE_KEPT = 60.0
_lines: warm.Kept[tuple[str, str], Line] = warm.Kept(limit=4096, seconds=LINE_KEPT)


# ---------------------------------------------------------------- lines


@dataclass(frozen=True)
class CreatedLine:
    line: Line
    secret: str | None  # a PBX line's secret, shown once (a Twilio line's is Twilio's auth token)


def _unknown_caller(tenant_id: str, values: dict[str, Any] | None) -> SourceSettings | None:
    if values is None:
        return None
    return sources.checked(
        tenant_id,
        SourceSettings(
            source=Source.TELEPHONY,
            unknown_contact=values.get("unknown_contact", UnknownContact.IGNORE),
            item_type=values.get("item_type"),
            pipeline_id=values.get("pipeline_id"),
            responsible_id=values.get("responsible_id"),
            updated_at=clock.now(),
        ),
    )


def create_line(tenant_id: str, values: dict[str, Any]) -> CreatedLine:
    """``values``: name, provider, auth_token (Twilio), unknown_caller (none: the tenant's setting)."""
    try:
        provider = Provider(values["provider"])
    except ValueError:
        raise Invalid(f"provider: one of {[p.value for p in Provider]}") from None
    if provider is Provider.TWILIO:
        secret = check_auth_token(values.get("auth_token"))
    elif values.get("auth_token") is not None:
        raise Invalid("auth_token: only a Twilio line has one (a PBX line's secret is made by the CRM)")
    else:
        secret = new_pbx_secret()
    line = Line(
        tenant_id=tenant_id,
        id=new_line_id(tenant_id),
        name=values["name"].strip(),
        provider=provider,
        created_at=clock.now(),
        secret=secret,
        unknown_caller=_unknown_caller(tenant_id, values.get("unknown_caller")),
    )
    store.create(line)
    return CreatedLine(line, secret if provider is Provider.PBX else None)


def lines(tenant_id: str) -> list[Line]:
    now = clock.now()
    return sorted(
        (line_.as_of(now) for line_ in store.list_all(tenant_id)), key=lambda line_: line_.created_at
    )


def line(tenant_id: str, line_id: str) -> Line:
    found = store.get(tenant_id, line_id)
    if found is None:
        raise NotFound(f"telephony line {line_id!r} does not exist")
    return found.as_of(clock.now())


def update_line(tenant_id: str, line_id: str, values: dict[str, Any]) -> Line:
    """A new name, auth token (Twilio) or unknown-caller setting (null: the tenant's), as given."""
    current = line(tenant_id, line_id)
    changes: dict[str, Any] = {}
    if values.get("name") is not None:
        changes["name"] = values["name"].strip()
    if values.get("auth_token") is not None:
        if current.provider is not Provider.TWILIO:
            raise Invalid("auth_token: only a Twilio line has one (a PBX line's secret: .../new-secret)")
        changes["secret"] = check_auth_token(values["auth_token"])
    if "unknown_caller" in values:
        changes["unknown_caller"] = _unknown_caller(tenant_id, values["unknown_caller"])
    updated = replace(current, **changes)
    store.replace(updated, expected_secret=current.secret)
    _lines.forget((tenant_id, line_id))
    return updated


def new_secret(tenant_id: str, line_id: str, grace: timedelta = DEFAULT_GRACE) -> CreatedLine:
    """A PBX line's new secret, shown once; the one it replaces keeps verifying for ``grace`` (0:
    stops now), so the PBX can be switched over without a lost call."""
    if not timedelta(0) <= grace <= MAX_GRACE:
        raise Invalid(f"grace: from 0 to {MAX_GRACE.days} days")
    current = line(tenant_id, line_id)
    if current.provider is not Provider.PBX:
        raise Invalid("a Twilio line is checked with its account's auth token: give the new one (PATCH)")
    keep = grace > timedelta(0)
    renewed = replace(
        current,
        secret=new_pbx_secret(),
        previous_secret=current.secret if keep else None,
        previous_valid_until=clock.now() + grace if keep else None,
    )
    store.replace(renewed, expected_secret=current.secret)
    _lines.forget((tenant_id, line_id))
    return CreatedLine(renewed, renewed.secret)


def delete_line(tenant_id: str, line_id: str) -> None:
    store.delete(tenant_id, line_id)
    _lines.forget((tenant_id, line_id))


# ---------------------------------------------------------------- calls


@dataclass(frozen=True)
class Received:
    call_id: str
    outcome: CallOutcome | None = None
    applied: tuple[Applied, ...] = ()
    note: str | None = None  # why nothing was applied

    def to_dict(self) -> dict[str, Any]:
        return {
            "call": self.call_id,
            "outcome": None if self.outcome is None else self.outcome.value,
            "applied": [a.to_dict() for a in self.applied],
            "note": self.note,
        }


def receive_twilio(
    line_id: str, url: str, params: Sequence[tuple[str, str]], signature: str | None
) -> Received:
    """A Twilio Voice status callback (or ``<Dial>`` action) to the line ``line_id``, posted to the
    public ``url`` with the form ``params``: NotFound for an unknown line, Unauthorized for a
    signature that is not Twilio's over that URL with the line's auth token, Invalid for a form
    that is not a call's. Nothing is written in any of these cases."""
    now = clock.now()
    reached = _checked(
        line_id, Provider.TWILIO, lambda line_: verify_twilio(url, params, signature, line_.secret)
    )
    return _received(reached, twilio_call(dict(params), now))


def receive_pbx(line_id: str, body: bytes, signature: str | None) -> Received:
    """A PBX's call report (``crm.domain.telephony.pbx_call``), signed with the line's secret."""
    now = clock.now()
    reached = _checked(
        line_id,
        Provider.PBX,
        lambda line_: signatures.verify(body, signature, line_.secrets(now), now, PBX_SIGNATURE),
    )
    try:
        document = parse_json(body)
    except BadValue as error:
        raise Invalid(f"the body is not a call report: {error}") from None
    return _received(reached, pbx_call(document, now))


def _checked(line_id: str, provider: Provider, check: Callable[[Line], object]) -> Line:
    """The line, once ``check`` (its signature check) passes: a line this container kept is read
    again once when it fails, so a secret changed a moment ago elsewhere is not refused for a
    minute (a provider does not retry a refusal: the call would be lost)."""
    kept = _line_of(line_id, provider)
    try:
        check(kept)
        return kept
    except Unauthorized:
        _lines.forget((kept.tenant_id, line_id))
        fresh = _line_of(line_id, provider)
        if (fresh.secret, fresh.previous_secret) == (kept.secret, kept.previous_secret):
            raise
    check(fresh)
    return fresh


def _line_of(line_id: str, provider: Provider) -> Line:
    unknown = NotFound(f"{provider.value} telephony line {line_id!r} does not exist")
    tenant_id = tenant_of_line(line_id)
    if tenant_id is None:
        raise unknown
    found = _lines.get((tenant_id, line_id), lambda: store.get(tenant_id, line_id))
    if found is None or found.provider is not provider:
        raise unknown
    return found


def _received(line_: Line, call: Call | Passing) -> Received:
    if isinstance(call, Passing):
        return Received(call.call_id, note=call.why)
    tenant_id, number, event_id = line_.tenant_id, call.client_number, call.event_id(line_.id)
    data = call.data(line_.id)
    event = TriggerEvent(
        type=call.outcome.value,
        source=SOURCE,
        event_id=event_id,
        tenant_id=tenant_id,
        occurred_at=call.ended_at,
        contact=Contact(ContactKind.PHONE, number),
        data=data,
    )
    entry = TimelineEntry(
        event_id, TimelineKind.CALL, call.ended_at, None, {**data, "outcome": call.outcome.value}
    )
    known = item_store.find_by_contact(tenant_id, f"phone:{number}")
    create = None
    if not known:
        title = f"{_TITLES[call.outcome]} {number}"
        create = sources.new_item(
            tenant_id, Source.TELEPHONY, title, phones=[number], own=line_.unknown_caller
        )
    on_items = PerItem(
        lambda type_code, item_id: item_store.entry_once(tenant_id, type_code, item_id, entry, event_id)
    )
    applied = apply_trigger_event(event, new_item=create, found=known, per_item=on_items)
    return Received(call.call_id, call.outcome, tuple(applied))


_TITLES = {
    CallOutcome.MISSED: "Missed call from",
    CallOutcome.INCOMING: "Call from",
    CallOutcome.OUTGOING: "Call to",
}
