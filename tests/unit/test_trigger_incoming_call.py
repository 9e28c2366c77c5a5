"""*Incoming call*: the client called a line and was answered; a line filter, and a minimum
conversation length."""

from __future__ import annotations

import pytest

from crm.domain.rules import CATALOGUE, RuleKind
from tests.unit.builders import fires, refused_params

LINE = "tl_acme_0a1b2c3d4e5f"


def test_it_is_in_the_catalogue_in_the_crms_words():
    assert CATALOGUE.get(RuleKind.TRIGGER, "incoming_call").title == "Incoming call"


@pytest.mark.parametrize(
    ("duration", "minimum", "expected"), [(184, 60, True), (20, 60, False), (20, 0, True)]
)
def test_a_minimum_duration_leaves_short_calls_out(duration, minimum, expected):
    data = {"line_id": LINE, "duration_seconds": duration}
    assert fires("incoming_call", data, {"min_duration_seconds": minimum}) is expected


def test_a_line_filter_takes_the_calls_of_those_lines_only():
    assert not fires("incoming_call", {"line_id": "tl_acme_ffffffffffff"}, {"line_ids": [LINE]})


def test_a_ring_time_is_a_missed_calls_setting():
    assert "min_ring_seconds" in refused_params("incoming_call", {"min_ring_seconds": 5})
