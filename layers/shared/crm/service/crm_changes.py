"""What the CRM-changes source asks of a pipeline before it hands an item's update to the trigger
engine: whether the pipeline has triggers of a type at all, and which fields they watch.

Every save of every item is an ``ItemUpdated`` event; a pipeline without *field value changed*
or *responsible changed* triggers has nothing to decide on it, and journaling each such save
("no trigger of this type") would bury the journal's answers under noise. The engine checks the
pipeline it decides on by version; this check answers "none" only after a fresh read, so a trigger
added a moment ago is never passed over, while a pipeline with such triggers costs no read here.
"""

from __future__ import annotations

from collections.abc import Collection

from crm.adapters import automation
from crm.domain.errors import NotFound
from crm.domain.rules import PipelineConfig
from crm.triggers.field_changed import FIELD_CHANGED


def _config(tenant_id: str, pipeline_id: str, *, fresh: bool) -> PipelineConfig | None:
    try:
        return automation.load(tenant_id, pipeline_id, fresh=fresh)
    except NotFound:  # deleted since the item's update: its items are gone with it
        return None


def trigger_types(tenant_id: str, pipeline_id: str, wanted: Collection[str]) -> set[str]:
    """Which of the ``wanted`` trigger types the pipeline has triggers of: from the warm container's
    copy when it has them all (the engine checks that copy's version when it writes), else on one
    fresh read (a pipeline with none of them costs one read per update, whatever it changed)."""
    found: set[str] = set()
    for fresh in (False, True):
        config = _config(tenant_id, pipeline_id, fresh=fresh)
        found = set() if config is None else {t for t in wanted if config.triggers_of_type(t)}
        if found == set(wanted):
            break
    return found


def watched_fields(tenant_id: str, pipeline_id: str) -> set[str]:
    """The fields the pipeline's *field value changed* triggers watch, on a fresh read."""
    config = _config(tenant_id, pipeline_id, fresh=True)
    if config is None:
        return set()
    rules = config.triggers_of_type(FIELD_CHANGED.code)
    return {watch["field"] for rule in rules for watch in rule.params.get("fields", ())}
