"""Typed custom fields of item types: what each type accepts, how it is stored, and the messages."""

from __future__ import annotations

import pytest

from crm.domain.errors import Invalid
from crm.domain.model import FieldDefinition, FieldType, ItemType
from tests.unit.builders import deal


def field(type: FieldType, **kw) -> FieldDefinition:
    return FieldDefinition(kw.pop("code", "f"), "F", type, **kw)


def refused(definition: FieldDefinition, value) -> str:
    with pytest.raises(Invalid) as error:
        definition.coerce(value)
    return str(error.value)


# ---------------------------------------------------------------- one value of each type


@pytest.mark.parametrize(
    ("type", "value", "stored"),
    [
        (FieldType.STRING, "Berlin", "Berlin"),
        (FieldType.STRING, "", ""),
        (FieldType.NUMBER, 12, 12),
        (FieldType.NUMBER, -0.5, -0.5),
        (FieldType.BOOLEAN, True, True),
        (FieldType.BOOLEAN, False, False),
        (FieldType.DATE, "2026-03-02", "2026-03-02"),
        (FieldType.DATE, "20260302", "2026-03-02"),  # stored in the extended form
        (FieldType.DATETIME, "2026-03-02T10:30:00+02:00", "2026-03-02T10:30:00+02:00"),
        (FieldType.DATETIME, "2026-03-02T10:30:00Z", "2026-03-02T10:30:00+00:00"),
        (FieldType.DATETIME, "2026-03-02T10:30+05:30", "2026-03-02T10:30:00+05:30"),
    ],
)
def test_a_value_of_the_right_type_is_stored_in_its_normal_form(type, value, stored):
    assert field(type).coerce(value) == stored


@pytest.mark.parametrize(
    ("type", "value", "message"),
    [
        (FieldType.STRING, 5, "field 'f' takes text"),
        (FieldType.STRING, ["a"], "field 'f' takes text"),
        (FieldType.NUMBER, "12", "field 'f' takes a number"),
        (FieldType.NUMBER, True, "field 'f' takes a number"),  # a bool is not a number
        (FieldType.BOOLEAN, "true", "field 'f' takes true or false"),
        (FieldType.BOOLEAN, 1, "field 'f' takes true or false"),
        (FieldType.DATE, "2026-02-30", "field 'f' takes a date (YYYY-MM-DD)"),
        (FieldType.DATE, "02.03.2026", "field 'f' takes a date (YYYY-MM-DD)"),
        (FieldType.DATE, "2026-03-02T10:00:00+00:00", "field 'f' takes a date (YYYY-MM-DD)"),
        (FieldType.DATE, 20260302, "field 'f' takes a date (YYYY-MM-DD)"),
        (FieldType.DATETIME, "yesterday", "field 'f' takes an ISO 8601 date-time"),
        (FieldType.DATETIME, 1767225600, "field 'f' takes an ISO 8601 date-time"),
    ],
)
def test_a_value_of_another_type_is_refused(type, value, message):
    assert refused(field(type), value) == message


@pytest.mark.parametrize("value", ["2026-03-02T10:30:00", "2026-03-02"])
def test_a_date_time_needs_an_offset(value):
    assert refused(field(FieldType.DATETIME), value) == "field 'f' needs a time zone offset"


def test_an_enum_takes_one_of_its_options():
    status = field(FieldType.ENUM, code="status", options=("new", "vip"))
    assert status.coerce("vip") == "vip"
    assert refused(status, "VIP") == "field 'status' takes one of ['new', 'vip']"
    assert refused(status, "gold") == "field 'status' takes one of ['new', 'vip']"


# ---------------------------------------------------------------- required and multiple


def test_an_optional_field_may_be_empty():
    assert field(FieldType.NUMBER).coerce(None) is None


def test_a_required_field_may_not_be_empty():
    assert (
        refused(field(FieldType.NUMBER, code="budget", required=True), None) == "field 'budget' is required"
    )


def test_a_multiple_field_coerces_each_value():
    tags = field(FieldType.DATE, code="visits", multiple=True)
    assert tags.coerce(["2026-03-02", "20260303"]) == ["2026-03-02", "2026-03-03"]
    assert tags.coerce([]) == []


def test_a_multiple_field_takes_a_list():
    assert refused(field(FieldType.STRING, code="tags", multiple=True), "vip") == "field 'tags' takes a list"


def test_one_bad_value_of_a_multiple_field_refuses_it():
    tags = field(FieldType.ENUM, code="tags", multiple=True, options=("vip", "partner"))
    assert refused(tags, ["vip", "gold"]) == "field 'tags' takes one of ['vip', 'partner']"


def test_a_required_multiple_field_needs_a_value():
    tags = field(FieldType.STRING, code="tags", required=True, multiple=True)
    assert tags.coerce(["vip"]) == ["vip"]
    assert refused(tags, None) == "field 'tags' is required"
    assert refused(tags, []) == "field 'tags' is required"


# ---------------------------------------------------------------- an item type's fields

REPAIR = ItemType(
    "repair",
    "Repair",
    (
        FieldDefinition("device", "Device", FieldType.STRING, required=True),
        FieldDefinition("due", "Due", FieldType.DATETIME),
        FieldDefinition("parts", "Parts", FieldType.NUMBER, multiple=True),
    ),
)


def test_an_item_type_coerces_every_field_given():
    assert REPAIR.coerce_fields(
        {"device": "Phone", "due": "2026-03-02T10:00:00Z", "parts": [1, 2.5]}, complete=True
    ) == {
        "device": "Phone",
        "due": "2026-03-02T10:00:00+00:00",
        "parts": [1, 2.5],
    }


def test_an_unknown_field_is_refused_by_name():
    with pytest.raises(Invalid, match="repair has no field 'colour'"):
        REPAIR.coerce_fields({"device": "Phone", "colour": "red"}, complete=False)


def test_a_complete_set_of_fields_has_the_required_ones():
    with pytest.raises(Invalid, match="field 'device' is required"):
        REPAIR.coerce_fields({"due": "2026-03-02T10:00:00Z"}, complete=True)


def test_a_partial_update_may_leave_required_fields_out_but_not_clear_them():
    assert REPAIR.coerce_fields({"parts": [3]}, complete=False) == {"parts": [3]}
    with pytest.raises(Invalid, match="field 'device' is required"):
        REPAIR.coerce_fields({"device": None}, complete=False)


def test_item_type_field_lookup():
    assert REPAIR.field("due").type is FieldType.DATETIME
    with pytest.raises(Invalid, match="repair has no field 'nope'"):
        REPAIR.field("nope")


# ---------------------------------------------------------------- what conditions see


def test_conditions_see_custom_fields_and_standard_attributes_by_name():
    item = deal(fields={"source": "web", "title": "custom wins"}, emails=["a@example.com"])
    assert item.value_of("source") == "web"
    assert item.value_of("amount") == 12_000.0
    assert item.value_of("emails") == ["a@example.com"]
    assert item.value_of("stage_id") == "NEW"
    assert item.value_of("title") == "custom wins"  # a custom field shadows the attribute
    assert item.value_of("created_at") is None  # not a field conditions may read
    assert item.value_of("unknown") is None


def test_a_required_text_field_refuses_blank_text():
    definition = FieldDefinition("device", "Device", FieldType.STRING, required=True)
    with pytest.raises(Invalid, match="required"):
        definition.coerce("   ")
    assert definition.coerce("X1") == "X1"
