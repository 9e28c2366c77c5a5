"""The domain's limits on what it accepts: numbers DynamoDB and a client hold exactly enough,
contacts that fit one write transaction, items well under DynamoDB's 400 KB, employees and items
that are whole (also when read back from storage)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm.domain.errors import Invalid
from crm.domain.model import Employee, FieldDefinition, FieldType, Item, check_number

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def item(**values) -> Item:
    return Item(
        **{
            "type": "deal",
            "id": "1",
            "pipeline_id": "sales",
            "stage_id": "new",
            "title": "Forklift",
            "created_at": NOW,
            "updated_at": NOW,
        }
        | values
    )


@pytest.mark.parametrize("good", [0, 1, -1, 0.5, 1e-9, 999_999_999_999_999, -9.99e14])
def test_numbers_within_range_are_taken(good):
    assert check_number(good, "amount") == good


@pytest.mark.parametrize(
    "bad", [float("inf"), float("-inf"), float("nan"), 1e15, -1e300, 1e-10, 10**20, True, "1"]
)
def test_numbers_out_of_range_or_not_numbers_are_refused(bad):
    with pytest.raises(Invalid, match="amount"):
        check_number(bad, "amount")


def test_a_number_field_takes_only_bounded_finite_numbers():
    price = FieldDefinition("price", "Price", FieldType.NUMBER)
    assert price.coerce(12.5) == 12.5
    with pytest.raises(Invalid, match="'price'"):
        price.coerce(float("nan"))


def test_text_and_multiple_fields_are_capped():
    notes = FieldDefinition("notes", "Notes", FieldType.STRING, multiple=True)
    assert notes.coerce(["x" * 2000] * 20) == ["x" * 2000] * 20
    with pytest.raises(Invalid, match="at most 2000 characters"):
        notes.coerce(["x" * 2001])
    with pytest.raises(Invalid, match="at most 20 values"):
        notes.coerce(["x"] * 21)


def test_an_item_has_at_most_twenty_emails_and_twenty_phones():
    item(emails=[f"a{n}@b.test" for n in range(20)]).check_limits()
    with pytest.raises(Invalid, match="at most 20 emails"):
        item(emails=[f"a{n}@b.test" for n in range(21)]).check_limits()
    with pytest.raises(Invalid, match="at most 20 phones"):
        item(phones=[f"+4930{n:08d}" for n in range(21)]).check_limits()


def test_an_item_stays_well_under_dynamodbs_record_size():
    item(fields={f"f{n}": "x" * 1900 for n in range(50)}).check_limits()
    with pytest.raises(Invalid, match="at most 100 KB"):
        item(fields={f"f{n}": ["x" * 2000] * 20 for n in range(10)}).check_limits()


def test_an_item_with_a_non_finite_amount_is_refused():
    with pytest.raises(Invalid, match="amount"):
        item(amount=float("inf")).check_limits()


@pytest.mark.parametrize("broken", [{"title": None}, {"title": ""}, {"emails": None}, {"fields": None}])
def test_an_item_that_is_not_whole_does_not_exist(broken):
    with pytest.raises((Invalid, TypeError)):
        item(**broken)


@pytest.mark.parametrize("broken", [{"active": None}, {"email": None}, {"name": ""}, {"time_zone": None}])
def test_an_employee_that_is_not_whole_does_not_exist(broken):
    with pytest.raises(Invalid, match="employee 'anna'"):
        Employee(**{"id": "anna", "name": "Anna", "email": "anna@acme.test"} | broken)
