"""Applying trigger events: the one use-case every source (webforms, mail, tracking, webhooks, app
triggers, the site, the CRM's own changes, later telephony and payments) hands its events to.

An event reaches items by reference (it names one) or by contact (the contact's open items in every
pipeline with triggers of the event's type). For each item the pure decision (``decide``) is made on
the warm container's copy of its pipeline, and one transaction writes the move (if any) with its
timeline entry, the journal entries, and the event's once-record, checked against the item's and
the pipeline's versions; a stale copy is decided again on fresh reads. So a redelivered event is one
refused write, and answers what the first delivery answered. An event that reaches no item is
journaled for the tenant, once.

DynamoDB calls per event, warm: by reference, the item's GetItem and one TransactWriteItems; by
contact, the contact index's Query, one BatchGetItem of the items and a transaction per item. What
the source read already is not read again: the item (a click reads it in one batch with the sent
mail's record), the contact's items (inbound mail looks up its sender once for both).

A contact the CRM does not know creates an item when the source says so (``NewItem``: a form's
target, the mailbox's "create a lead" setting), once per event, and then the triggers apply to it.

A source with records of its own per event (a webform's submission log and rate count) hands them
over as ``along`` (``crm.adapters.along.Write``s its adapter builds): they are written, once per
event, in the same transaction as the first write for the event (the first item's decision, the
tenant-level entry of an event that reached none, or the item created for it), so they cost no
call, and a refusal of one of them (the rate's limit) refuses that write with the source's error.
A source with records on each item the event concerns (inbound mail's entry on the sender's items
and on each item the event reaches) hands them over as ``per_item``: each goes, once per item, in
the event's transactions as far as they hold them, the rest in transactions of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from crm.adapters import automation, items, journal
from crm.adapters.along import Companions, PerItem, Write
from crm.domain import clock
from crm.domain.errors import AlreadyRecorded, Invalid, NotFound, StaleWrite
from crm.domain.model import Item, ItemSummary, entry_id
from crm.domain.rules import PipelineConfig
from crm.domain.transitions import TransitionPolicy, moved
from crm.domain.trigger_events import ItemRef, TriggerEvent
from crm.domain.triggering import Decision, Outcome, Verdict, decide
from crm.service.configuration import pipeline_of_type
from crm.service.items import create_item, on_current_pipeline

POLICY = TransitionPolicy()


@dataclass(frozen=True)
class Applied:
    """What one event did to one item, or that it reached none: the answer a source gives, kept
    with the event's once-record so that a redelivery gets the same."""

    outcome: Outcome
    journal_id: str
    at: datetime
    item: ItemRef | None = None
    pipeline_id: str | None = None
    stage_id: str | None = None  # where the item is after the event
    from_stage: str | None = None  # where it was, when it moved
    rule_id: str | None = None  # the trigger that moved it
    rule_name: str | None = None
    run_as: str | None = None  # the employee the move is recorded as made by
    created: bool = False  # the item was created for the event's unknown contact

    @property
    def moved(self) -> bool:
        return self.outcome is Outcome.MOVED

    @classmethod
    def of(cls, decision: Decision, journal_id: str, item: Item | None) -> Applied:
        if decision.move is None:
            stage = None if item is None else item.stage_id
            return cls(decision.outcome, journal_id, decision.at, decision.item, decision.pipeline_id, stage)
        chosen = next(v for v in decision.verdicts if v.verdict is Verdict.MOVED)
        return cls(
            decision.outcome,
            journal_id,
            decision.at,
            decision.item,
            decision.pipeline_id,
            decision.move.to_stage,
            None if item is None else item.stage_id,
            chosen.rule_id,
            chosen.rule_name,
            decision.move.by,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "moved": self.moved,
            "journal_id": self.journal_id,
            "at": self.at.isoformat(),
            "item": None if self.item is None else {"type": self.item.type, "id": self.item.id},
            "pipeline_id": self.pipeline_id,
            "stage_id": self.stage_id,
            "from_stage": self.from_stage,
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "run_as": self.run_as,
            "created": self.created,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Applied:
        values = {k: v for k, v in data.items() if k not in ("outcome", "moved", "at", "item")}
        return cls(
            outcome=Outcome(data["outcome"]),
            at=datetime.fromisoformat(data["at"]),
            item=None if data.get("item") is None else ItemRef(**data["item"]),
            **values,
        )


@dataclass(frozen=True)
class NewItem:
    """The item a source creates when no item has the event's contact: its type and the values
    ``create_item`` takes (title, pipeline_id, contacts, fields; no stage: the pipeline's first)."""

    type: str
    values: Mapping[str, Any]


def apply_trigger_event(
    event: TriggerEvent,
    *,
    now: datetime | None = None,
    unknown_item_is_an_error: bool = False,
    new_item: NewItem | None = None,
    along: Sequence[Write] = (),
    read: Item | None = None,
    found: Sequence[ItemSummary] | None = None,
    per_item: PerItem | None = None,
) -> list[Applied]:
    """What ``event`` did to each item it reached (one entry for no item). An item named by
    reference that does not exist is journaled as reaching no item, or, with
    ``unknown_item_is_an_error`` (a caller's own request naming it), NotFound and nothing written.
    An event by contact that no item has creates ``new_item``, when given. ``along``: the source's
    own records (module docstring); a refusal of one of them is raised, and nothing is written.

    What the caller has read already is not read again: ``read``, the item the event names (a
    copy changed since fails the write's version check, and is read again); ``found``, the items
    of the event's contact (the sender's, for mail). ``per_item``: the source's records on each
    item of ``found`` and each item the event reaches, once per item (``crm.adapters.along``)."""
    at = now or clock.now()
    companions = journal.along(event, along, at, per_item)
    companions.on((summary.type, summary.id) for summary in found or ())
    if event.item is not None:
        applied = _by_reference(event, event.item, at, unknown_item_is_an_error, companions, read)
    else:
        applied = _by_contact(event, at, new_item, companions, found)
    companions.flush()
    return applied


def apply_to_new_item(
    event: TriggerEvent, new_item: NewItem, *, now: datetime | None = None, along: Sequence[Write] = ()
) -> list[Applied]:
    """``event`` applied to ``new_item``, created for it whoever its contact is (a form that makes
    an item of every submission), once per event."""
    at = now or clock.now()
    companions = journal.along(event, along, at)
    return _created_for(event, at, new_item, companions, "creating an item for the event was refused")


def _by_reference(
    event: TriggerEvent, ref: ItemRef, at: datetime, refuse: bool, companions: Companions, read: Item | None
) -> list[Applied]:
    if read is not None and (read.type, read.id) != (ref.type, ref.id):
        raise ValueError(f"{read.ref} was read for an event naming {ref}")
    try:
        item = read or items.get(event.tenant_id, ref.type, ref.id)
    except NotFound:
        # Applied before the item was deleted: a redelivery still answers what it did then.
        if earlier := journal.answers(event.tenant_id, event):
            companions.answered()
            return [Applied.from_dict(answer) for answer in earlier.values()]
        if refuse:
            raise
        return [_no_item(event, at, f"{ref} does not exist", companions=companions)]
    return [_once_for(event, item, companions, lambda: _on_item(event, item, at, companions=companions))]


def _once_for(
    event: TriggerEvent,
    item: Item,
    companions: Companions,
    apply: Callable[[], Applied],
    earlier: dict[str, dict[str, Any]] | None = None,
) -> Applied:
    """``apply()``, or what it answered before if the event was applied to ``item`` already.
    ``earlier``: the event's answers read for another of its items, kept (and filled) by the caller."""
    earlier = {} if earlier is None else earlier
    key = f"{item.type}#{item.id}"
    for _ in range(2):
        if key in earlier:
            return Applied.from_dict(earlier[key])
        try:
            return apply()
        except AlreadyRecorded:
            companions.answered()
            earlier.update(journal.answers(event.tenant_id, event))
            # Not there: its once-record expired between the refused write and the read; apply it now.
    raise StaleWrite(f"the record of event {event.event_id} changed twice meanwhile; deliver it again")


def _on_item(
    event: TriggerEvent,
    first: Item,
    at: datetime,
    created: bool = False,
    companions: Companions | None = None,
) -> Applied:
    """Decides on the item's pipeline as this container keeps it; on a stale item or pipeline,
    once more on fresh reads of both."""
    current = first

    def pipeline_of(retry: bool) -> str:
        nonlocal current
        if retry:
            current = items.get(event.tenant_id, first.type, first.id)
        return current.pipeline_id

    def write(config: PipelineConfig, retry: bool) -> Applied:
        return _write(event, current, config, at, {}, created, companions)

    return on_current_pipeline(event.tenant_id, pipeline_of, first.stage_id, write)


def _write(
    event: TriggerEvent,
    item: Item,
    config: PipelineConfig,
    at: datetime,
    unchanged: Mapping[str, int],
    created: bool = False,
    companions: Companions | None = None,
) -> Applied:
    """The decision for ``item`` on ``config``, written: the move if any, the journal, the event's
    once-record, ``companions`` (the item's own records first); checked against ``unchanged``
    (other pipelines the choice of items relied on) too."""
    if companions is not None:
        companions.on([(item.type, item.id)])
    decision = decide(config, item, event, POLICY, at)
    journal_id = entry_id()
    applied = replace(Applied.of(decision, journal_id, item), created=created)
    change = None
    if decision.move is not None and decision.target is not None:
        after, entry = moved(item, decision.target, decision.move, at, entry_id())
        trigger = {"id": applied.rule_id, "name": applied.rule_name}
        source = {"type": event.type, "source": event.source, "id": event.event_id}
        entry = replace(
            entry, data={**entry.data, "trigger": trigger, "event": source, "journal_id": journal_id}
        )
        change = (replace(after, version=item.version + 1), entry)
    journal.record_decision(
        event.tenant_id, decision, journal_id, item, applied.to_dict(), change, unchanged, companions
    )
    return applied


def _no_item(
    event: TriggerEvent,
    at: datetime,
    note: str,
    unchanged: Mapping[str, int] | None = None,
    companions: Companions | None = None,
) -> Applied:
    decision = Decision.unapplied(event, Outcome.NO_ITEM, at)
    applied = Applied.of(decision, entry_id(), None)
    try:
        journal.record_unapplied(
            event.tenant_id,
            decision,
            applied.journal_id,
            applied.to_dict(),
            note,
            unchanged or {},
            companions,
        )
    except AlreadyRecorded:
        if companions is not None:
            companions.answered()
        earlier = journal.answers(event.tenant_id, event).get(journal.NO_ITEM)
        return applied if earlier is None else Applied.from_dict(earlier)
    return applied


def journal_unapplied(
    event: TriggerEvent, why: str, *, now: datetime | None = None, along: Sequence[Write] = ()
) -> Applied:
    """Journals for the tenant, once, an event its source received but will not apply (mail whose
    sender SES's verdicts do not authenticate, a webform's bot), saying why; it reaches no item.
    ``along``: as for ``apply_trigger_event``."""
    at = now or clock.now()
    return _no_item(event, at, why, companions=journal.along(event, along, at))


def _created_for(
    event: TriggerEvent, at: datetime, new_item: NewItem, companions: Companions, refused_note: str
) -> list[Applied]:
    """The new item, created once per event (a redelivery finds the one the first created) with
    ``companions``, then the event applied to it; an item the type or pipeline refuses (a required
    field the source does not fill) is journaled as reaching no item (``refused_note`` says so)."""
    try:
        item = create_item(
            event.tenant_id,
            new_item.type,
            dict(new_item.values),
            idempotency_key=f"trigger-event:{event.source}:{event.event_id}",
            along=companions,
        )
    except (Invalid, NotFound) as refused:
        return [_no_item(event, at, f"{refused_note}: {refused}", companions=companions)]
    return [_once_for(event, item, companions, lambda: _on_item(event, item, at, True, companions))]


def _by_contact(
    event: TriggerEvent,
    at: datetime,
    new_item: NewItem | None,
    companions: Companions,
    found: Sequence[ItemSummary] | None,
) -> list[Applied]:
    """The contact's open items (``found``, or looked up) in the pipelines with triggers of the
    event's type. Which pipelines those are is read from this container's copies, and checked: each
    write also checks the versions of the pipelines it passed over, and when one changed, all is
    decided again on fresh copies (items done by then answer from their once-records)."""
    assert event.contact is not None
    tenant_id = event.tenant_id
    if found is None:
        summaries = items.find_by_contact(tenant_id, f"{event.contact.kind.value}:{event.contact.value}")
    else:
        summaries = list(found)
    if not summaries and new_item is not None:
        refused_note = "no item has the contact, and creating one was refused"
        return _created_for(event, at, new_item, companions, refused_note)
    pipeline_ids = sorted({s.pipeline_id for s in summaries})
    for retry in (False, True):
        configs = {p: automation.load(tenant_id, p, fresh=retry) for p in pipeline_ids}
        passed_over = {p: c.version for p, c in configs.items() if not c.triggers_of_type(event.type)}
        try:
            return _on_contact_items(event, at, summaries, configs, passed_over, companions, new_item)
        except StaleWrite:
            for pipeline_id in pipeline_ids:
                automation.forget(tenant_id, pipeline_id)
            if retry:
                raise
    raise AssertionError("unreachable")


def _on_contact_items(
    event: TriggerEvent,
    at: datetime,
    summaries: list[ItemSummary],
    configs: dict[str, PipelineConfig],
    passed_over: dict[str, int],
    companions: Companions,
    new_item: NewItem | None,
) -> list[Applied]:
    # A source that creates items for unknown contacts also creates one for a contact whose every
    # item is closed (a returning customer): so it reads all the contact's items, not only those
    # in pipelines with triggers of the event's type.
    wanted = [(s.type, s.id) for s in summaries if new_item is not None or s.pipeline_id not in passed_over]
    open_items = [item for item in items.get_many(event.tenant_id, wanted) if _open(item, configs)]
    if new_item is not None and not open_items:
        refused_note = "no open item has the contact, and creating one was refused"
        return _created_for(event, at, new_item, companions, refused_note)
    reached = [item for item in open_items if item.pipeline_id not in passed_over]
    if not reached and summaries and (earlier := journal.answers(event.tenant_id, event)):
        # Applied before to an item passed over now (created for the event in a pipeline without
        # such triggers, closed since): a redelivery answers what it did then, and adds nothing.
        companions.answered()
        return [Applied.from_dict(answer) for answer in earlier.values()]
    if not reached:
        contact = f"{event.contact.kind.value} {event.contact.value}" if event.contact else "the contact"
        note = (
            f"no open item of {contact} is in a pipeline with {event.type} triggers"
            if summaries
            else f"no item has {contact}"
        )
        return [_no_item(event, at, note, passed_over, companions)]
    # A redelivery refused at its first write reads the event's answers once, for every item.
    earlier: dict[str, dict[str, Any]] = {}
    return [
        _once_for(
            event,
            item,
            companions,
            lambda item=item: _write(
                event, item, configs[item.pipeline_id], at, passed_over, False, companions
            ),
            earlier,
        )
        for item in reached
    ]


def _open(item: Item, configs: dict[str, PipelineConfig]) -> bool:
    """Not in a final stage (an item moved to another pipeline since its summary is left out)."""
    config = configs.get(item.pipeline_id)
    if config is None:
        return False
    pipeline = config.pipeline
    return not (pipeline.has_stage(item.stage_id) and pipeline.stage(item.stage_id).is_final)


# ---------------------------------------------------------------- the journal

Page = tuple[list[dict[str, Any]], str | None]


def item_journal(tenant_id: str, type_code: str, item_id: str, limit: int, cursor: str | None) -> Page:
    """Every decision on the item, newest first."""
    return journal.item_journal(tenant_id, items.get(tenant_id, type_code, item_id), limit, cursor)


def pipeline_journal(
    tenant_id: str,
    type_code: str,
    pipeline_id: str,
    rule_id: str | None,
    outcome: Outcome | None,
    since: datetime | None,
    limit: int,
    cursor: str | None,
) -> Page:
    """The decisions that evaluated the pipeline's triggers, newest first: those where ``rule_id``
    was a candidate, with this ``outcome``, from ``since`` on."""
    pipeline_of_type(tenant_id, type_code, pipeline_id)
    value = None if outcome is None else outcome.value
    return journal.pipeline_journal(tenant_id, pipeline_id, rule_id, value, since, limit, cursor)


def tenant_journal(
    tenant_id: str, source: str | None, since: datetime | None, limit: int, cursor: str | None
) -> Page:
    """Events that reached no item, or an item whose pipeline has no trigger of their type."""
    return journal.tenant_journal(tenant_id, source, since, limit, cursor)
