"""*Outgoing call*: any call an employee logged, or one that lasted long enough."""

from __future__ import annotations

import pytest

from crm.domain.rules import CATALOGUE, RuleKind
from tests.unit.builders import fires, refused_params


def test_it_is_in_the_catalogue_in_the_crms_words():
    assert CATALOGUE.get(RuleKind.TRIGGER, "outgoing_call").title == "Outgoing call"


@pytest.mark.parametrize(
    ("duration", "minimum", "expected"),
    [
        (None, 0, True),
        (0, 0, True),
        (120, 60, True),
        (60, 60, True),
        (59, 60, False),
        (None, 60, False),  # a call without a logged duration is not known to have lasted
    ],
)
def test_a_minimum_duration_leaves_short_calls_out(duration, minimum, expected):
    assert (
        fires("outgoing_call", {"duration_seconds": duration}, {"min_duration_seconds": minimum}) is expected
    )


@pytest.mark.parametrize(
    ("minimum", "problem"), [(-1, "greater than or equal to 0"), (86_401, "less than or equal")]
)
def test_the_minimum_is_within_a_day(minimum, problem):
    assert problem in refused_params("outgoing_call", {"min_duration_seconds": minimum})
