"""*Change fields*: sets the item's values (texts may be templates) and does arithmetic on its
numbers (``{"field": "amount", "add": 100}``, ``{"field": "discount", "multiply": 1.1}``). The runner
checks the values as an edit does (types, required fields); arithmetic on a value that is not a
number fails the robot."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import Field, model_validator

from crm.domain.model import MAX_NUMBER, Item
from crm.domain.robots import RobotContext, RobotFailed
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.robots.inside import FieldName, Outputs, Params, Template, rendered

# The item's own values an edit may change; every other name is a custom field's code.
STANDARD = ("title", "amount", "currency", "responsible_id", "company", "emails", "phones")
# Changed by other robots, or never: refused as names of values to set.
NOT_SET_HERE = {
    "stage_id": "the change stage robot moves an item",
    "pipeline_id": "the change stage robot moves an item",
    "type": "an item keeps its type",
    "id": "an item keeps its id",
    "version": "the CRM counts versions",
    "fields": "name the custom field by its code",
}
MAX_TEXT = 2000
Number = Annotated[float, Field(strict=True, allow_inf_nan=False, gt=-MAX_NUMBER, lt=MAX_NUMBER)]
Scalar = bool | int | Number | Template | None
Value = Scalar | Annotated[list[bool | int | Number | Template], Field(max_length=20)]


class Arithmetic(Params):
    field: FieldName
    add: Number | None = None
    multiply: Number | None = None

    @model_validator(mode="after")
    def _one_operation(self) -> Arithmetic:
        if (self.add is None) == (self.multiply is None):
            raise ValueError("give either add or multiply")
        return self

    def applied(self, value: Any) -> int | float:
        result = value + self.add if self.add is not None else value * self.multiply
        # Cut the float noise (0.1 + 0.2) the CRM's numbers are too coarse to hold anyway.
        result = round(result, 9) if math.isfinite(result) else result
        return int(result) if float(result).is_integer() else result


class ChangeFieldsParams(Params):
    values: dict[FieldName, Value] = Field(default_factory=dict, max_length=50)
    arithmetic: list[Arithmetic] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _each_field_once(self) -> ChangeFieldsParams:
        names = [*self.values, *(a.field for a in self.arithmetic)]
        if not names:
            raise ValueError("change at least one field")
        if twice := sorted({name for name in names if names.count(name) > 1}):
            raise ValueError(f"each field is changed once: {twice}")
        if refused := [f"{name}: {NOT_SET_HERE[name]}" for name in names if name in NOT_SET_HERE]:
            raise ValueError("; ".join(refused))
        return self


class ChangedOutputs(Outputs):
    changed: list[str]


def _rendered(ctx: RobotContext, name: str, value: Any) -> Any:
    if isinstance(value, str):
        return rendered(ctx, value, name, MAX_TEXT) if "{" in value else value
    if isinstance(value, list):
        return [_rendered(ctx, name, v) for v in value]
    return value


def run(ctx: RobotContext, item: Item, params: ChangeFieldsParams) -> dict:
    values = {name: _rendered(ctx, name, value) for name, value in params.values.items()}
    for operation in params.arithmetic:
        current = item.value_of(operation.field)
        if current is None:
            current = 0  # an empty number counts as 0, as in a spreadsheet
        if isinstance(current, bool) or not isinstance(current, int | float):
            raise RobotFailed(
                f"{operation.field} holds {current!r}, not a number: no arithmetic on it", retryable=False
            )
        result = operation.applied(current)
        if not math.isfinite(result) or abs(result) >= MAX_NUMBER:
            raise RobotFailed(f"{operation.field} would be {result}, out of the CRM's range", retryable=False)
        values[operation.field] = result
    changes = ctx.effects.changes
    for name, value in values.items():
        if name in STANDARD:
            changes[name] = value
        else:
            changes.setdefault("fields", {})[name] = value
    return {"changed": list(values)}


CHANGE_FIELDS = CATALOGUE.register(
    RuleType(
        "change_fields",
        RuleKind.ROBOT,
        "Change fields",
        ChangeFieldsParams,
        "Sets values of the item (texts may use templates) and adds to or multiplies its numbers.",
        run=run,
        outputs=ChangedOutputs,
    )
)
