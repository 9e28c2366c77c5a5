"""*Missed call*: the client called a line and nobody answered; a line filter, and a minimum ring
time that a provider which does not say how long it rang does not defeat."""

from __future__ import annotations

import pytest

from crm.domain.rules import CATALOGUE, RuleKind
from tests.unit.builders import fires, refused_params

LINE, OTHER_LINE = "tl_acme_0a1b2c3d4e5f", "tl_acme_ffffffffffff"


def test_it_is_in_the_catalogue_in_the_crms_words():
    assert CATALOGUE.get(RuleKind.TRIGGER, "missed_call").title == "Missed call"


@pytest.mark.parametrize(
    ("ring", "minimum", "expected"),
    [
        (25, 0, True),
        (25, 10, True),
        (10, 10, True),
        (3, 10, False),  # hung up at once: not worth a call back
        (None, 10, True),  # Twilio does not say how long it rang: the missed call is not lost
    ],
)
def test_a_minimum_ring_time_leaves_callers_who_hung_up_at_once_out(ring, minimum, expected):
    data = {"line_id": LINE, "ring_seconds": ring, "direction": "inbound"}
    assert fires("missed_call", data, {"min_ring_seconds": minimum}) is expected


def test_a_line_filter_takes_the_calls_of_those_lines_only():
    assert fires("missed_call", {"line_id": LINE}, {"line_ids": [LINE]})
    assert not fires("missed_call", {"line_id": OTHER_LINE}, {"line_ids": [LINE]})
    assert fires("missed_call", {"line_id": OTHER_LINE}, {})


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"min_ring_seconds": -1}, "greater than or equal to 0"),
        ({"min_ring_seconds": 86_401}, "less than or equal"),
        ({"line_ids": ["not a line"]}, "line_ids.0"),
        ({"min_duration_seconds": 5}, "min_duration_seconds"),  # an incoming call's setting
    ],
)
def test_bad_params_are_refused(params, problem):
    assert problem in refused_params("missed_call", params)
