"""*Webhook*: any call of the trigger URL for the item, or the calls with one code."""

from __future__ import annotations

import pytest

from crm.domain.rules import CATALOGUE, RuleKind
from tests.unit.builders import fires, refused_params


def test_it_is_in_the_catalogue_in_the_crms_words():
    assert CATALOGUE.get(RuleKind.TRIGGER, "webhook").title == "Webhook"


def test_without_a_code_every_call_fires_it():
    assert fires("webhook", {})
    assert fires("webhook", {"code": "paid"})


def test_with_a_code_only_calls_with_that_code_fire_it():
    assert fires("webhook", {"code": "paid"}, {"code": "paid"})
    assert not fires("webhook", {"code": "Paid"}, {"code": "paid"})
    assert not fires("webhook", {}, {"code": "paid"})


@pytest.mark.parametrize("code", ["Bad Code", "", "x" * 65, "paid!"])
def test_a_code_is_latin_letters_digits_and_underscores(code):
    assert "code: String should match pattern" in refused_params("webhook", {"code": code})
