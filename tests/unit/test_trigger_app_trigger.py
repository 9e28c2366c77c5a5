"""*App trigger*: an application fires the trigger it registered, by its code."""

from __future__ import annotations

from crm.domain.rules import CATALOGUE, RuleKind
from tests.unit.builders import fires, refused_params


def test_it_is_in_the_catalogue_in_the_crms_words():
    assert CATALOGUE.get(RuleKind.TRIGGER, "app_trigger").title == "App trigger"


def test_only_its_own_code_fires_it():
    assert fires("app_trigger", {"code": "contract_signed"}, {"code": "contract_signed"})
    assert not fires("app_trigger", {"code": "contract_sent"}, {"code": "contract_signed"})


def test_the_code_is_required():
    assert "code: Field required" in refused_params("app_trigger", {})
