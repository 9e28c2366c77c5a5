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


LINE, OTHER_LINE = "tl_acme_0a1b2c3d4e5f", "tl_acme_ffffffffffff"


@pytest.mark.parametrize(
    ("line", "lines", "expected"),
    [
        (LINE, [], True),
        (LINE, [LINE], True),
        (OTHER_LINE, [LINE], False),
        (None, [LINE], False),  # a call an employee logged is on no line
    ],
)
def test_a_line_filter_takes_the_calls_of_those_lines_only(line, lines, expected):
    assert fires("outgoing_call", {"line_id": line, "duration_seconds": 30}, {"line_ids": lines}) is expected


def test_a_line_filter_names_lines():
    assert "line_ids.0" in refused_params("outgoing_call", {"line_ids": ["office"]})
