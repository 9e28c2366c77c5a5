"""The trigger journal: why each trigger event moved an item or did not."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from crm.api.context import tenant_id
from crm.api.schemas import ID_PATTERN, Cursor, JournalEntryOut, JournalPage, Limit, PathId, RobotRunOut
from crm.domain.errors import Invalid
from crm.domain.trigger_events import CODE_PATTERN
from crm.domain.triggering import Outcome
from crm.service import triggers

router = Router()

# RFC 3339 date-times, the zone optional (UTC then); parsed here, so "0.5" is not taken as a timestamp.
Since = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})?$",
        description="only entries from this time on, like 2026-03-02T09:00:00Z (without a zone: UTC)",
    ),
]


def _time(since: str | None) -> datetime | None:
    if since is None:
        return None
    try:
        return datetime.fromisoformat(since)
    except ValueError:
        raise Invalid(f"since: {since!r} is no date and time") from None


def _page(found: tuple[list[dict], str | None]) -> JournalPage:
    entries, cursor = found
    return JournalPage(entries=[_entry(e) for e in entries], cursor=cursor)


def _entry(entry: dict) -> JournalEntryOut | RobotRunOut:
    """A trigger event's decision, or (``kind: robot_run``) what happened to a robot run."""
    if entry.get("kind") == "robot_run":
        return RobotRunOut.model_validate(entry)
    return JournalEntryOut.model_validate(entry)


@router.get("/items/<item_type>/<item_id>/journal", tags=["items"])
def item_journal(item_type: PathId, item_id: PathId, limit: Limit = 50, cursor: Cursor = None) -> JournalPage:
    """Every trigger event that reached the item, newest first, with each candidate trigger's
    verdict (moved; condition false, with the values compared; stage behind; closed; ...), and what
    happened to each of its robot runs (``kind: robot_run``)."""
    return _page(triggers.item_journal(tenant_id(router), item_type, item_id, limit, cursor))


@router.get("/automation/<item_type>/<pipeline_id>/journal", tags=["automation"])
def pipeline_journal(
    item_type: PathId,
    pipeline_id: PathId,
    rule: Annotated[
        str | None, Query(pattern=ID_PATTERN, description="entries where this trigger was a candidate")
    ] = None,
    outcome: Annotated[Literal["moved", "not_moved"] | None, Query()] = None,
    since: Since = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> JournalPage:
    """The events that evaluated the pipeline's triggers, newest first: "why didn't my trigger fire?"."""
    found = triggers.pipeline_journal(
        tenant_id(router),
        item_type,
        pipeline_id,
        rule,
        None if outcome is None else Outcome(outcome),
        _time(since),
        limit,
        cursor,
    )
    return _page(found)


@router.get("/journal", tags=["automation"])
def tenant_journal(
    source: Annotated[
        str | None, Query(pattern=CODE_PATTERN.pattern, description="app, webhook, mail, ...")
    ] = None,
    since: Since = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> JournalPage:
    """Trigger events that reached no item (unknown item or contact) or an item whose pipeline has no
    trigger of their type, newest first."""
    return _page(triggers.tenant_journal(tenant_id(router), source, _time(since), limit, cursor))
