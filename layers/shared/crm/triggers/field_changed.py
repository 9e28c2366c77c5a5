"""*Field value changed*: a watched field of the item changed, optionally crossing a threshold.

Each watched field may say what its old value passed (``old``) and what its new value passes
(``new``), with a clause of the condition language; the trigger fires on the change that crosses
them, once: "amount went above 10,000" (``new: {"op": ">", "value": 10000}``) fires on the save
that takes the amount over 10,000, not on every later save above it. Stage, pipeline and
responsible are not watched here, as in Bitrix24: moving stages is what triggers do, and
*responsible changed* watches the responsible.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from crm.domain import conditions
from crm.domain.errors import Invalid
from crm.domain.model import ID_PATTERN
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.triggers.filters import EventData, Params

NOT_WATCHED = ("stage_id", "pipeline_id", "responsible_id")
# Standard attributes no update changes: a watch on one could never fire. Custom fields are changed
# (and watched) one by one, by their codes, never as "fields".
NEVER_CHANGED = ("type", "id", "version", "fields")
MAX_WATCHED = 20
FieldName = Annotated[
    str, Field(pattern=ID_PATTERN.pattern, description="a standard attribute or a custom field")
]


class ValueTest(Params):
    """One clause of the condition language without its field: ``{"op": ">", "value": 10000}``."""

    op: str
    value: Any = None

    @model_validator(mode="after")
    def _a_clause(self) -> ValueTest:
        self.clause("value")
        return self

    def clause(self, field: str) -> conditions.Clause:
        data: dict[str, Any] = {"field": field, "op": self.op}
        if "value" in self.model_fields_set:
            data["value"] = self.value
        try:
            parsed = conditions.parse(data)
        except Invalid as error:
            raise ValueError(str(error).removeprefix("condition.").removeprefix("condition: ")) from None
        assert isinstance(parsed, conditions.Clause)
        return parsed

    def passes(self, value: Any) -> bool:
        return self.clause("value").holds(lambda _: value)


class Watch(Params):
    field: FieldName
    old: ValueTest | None = None  # the old value passed this, the new one does not
    new: ValueTest | None = None  # the new value passes this, the old one did not

    @field_validator("field")
    @classmethod
    def _watchable(cls, field: str) -> str:
        _check_watchable(field)
        return field

    def fires(self, old: Any, new: Any) -> bool:
        if old == new:
            return False
        left = self.old is None or (self.old.passes(old) and not self.old.passes(new))
        entered = self.new is None or (self.new.passes(new) and not self.new.passes(old))
        return left and entered


class FieldChangedParams(Params):
    fields: list[Watch] = Field(min_length=1, max_length=MAX_WATCHED, description="any of these")


class Change(EventData):
    old: Any = None
    new: Any = None


class FieldChangedData(EventData):
    # By the names conditions use: a standard attribute, or a custom field's code.
    changes: dict[FieldName, Change] = Field(min_length=1)

    @field_validator("changes")
    @classmethod
    def _watchable_changes(cls, changes: dict[str, Change]) -> dict[str, Change]:
        # A change no watch may name would be journaled as a mismatch of every trigger: the
        # source leaves it out (the responsible is the other trigger type's event).
        for field in changes:
            _check_watchable(field)
        return changes


def _check_watchable(field: str) -> None:
    if field in NOT_WATCHED:
        raise ValueError(
            f"{field!r} is not watched by this trigger: stage moves are what triggers make, and "
            "'responsible_changed' watches the responsible"
        )
    if field in NEVER_CHANGED:
        raise ValueError(
            f"{field!r} is never changed by an update: watch a standard attribute that is, or a "
            "custom field by its code"
        )


def field_changed_matches(data: FieldChangedData, params: FieldChangedParams) -> bool:
    return any(
        watch.fires(change.old, change.new)
        for watch in params.fields
        if (change := data.changes.get(watch.field)) is not None
    )


FIELD_CHANGED = CATALOGUE.register(
    RuleType(
        "field_changed",
        RuleKind.TRIGGER,
        "Field value changed",
        FieldChangedParams,
        "A watched field changed: any change, or one that crosses the old and new values given.",
        FieldChangedData,
        field_changed_matches,
    )
)
