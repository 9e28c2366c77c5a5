"""*Responsible changed*: any change of responsible, or from or to the employee given."""

from __future__ import annotations

import pytest

from crm.domain.rules import CATALOGUE, RuleKind
from tests.unit.builders import fires, refused_params


def test_it_is_in_the_catalogue_in_the_crms_words():
    assert CATALOGUE.get(RuleKind.TRIGGER, "responsible_changed").title == "Responsible changed"


@pytest.mark.parametrize(
    ("old", "new", "params", "expected"),
    [
        ("anna", "boris", {}, True),
        (None, "boris", {}, True),
        ("anna", "anna", {}, False),  # not a change
        ("anna", "boris", {"to_employee": "boris"}, True),
        ("anna", "carl", {"to_employee": "boris"}, False),
        ("anna", "boris", {"from_employee": "anna"}, True),
        ("carl", "boris", {"from_employee": "anna"}, False),
        ("anna", "boris", {"from_employee": "anna", "to_employee": "boris"}, True),
        ("anna", "boris", {"from_employee": "boris", "to_employee": "anna"}, False),
    ],
)
def test_from_and_to(old, new, params, expected):
    assert fires("responsible_changed", {"old": old, "new": new}, params) is expected


def test_params_are_employee_ids():
    assert "to_employee: String should match pattern" in refused_params(
        "responsible_changed", {"to_employee": "Anna Petrova"}
    )


def test_a_trigger_from_and_to_the_same_employee_is_refused():
    # It could never fire: a change of responsible is from one employee to another.
    assert "from_employee and to_employee are the same" in refused_params(
        "responsible_changed", {"from_employee": "anna", "to_employee": "anna"}
    )
