"""Items named as Bitrix24's ``crm.automation.trigger`` names them (``target=DEAL_25``), and the
answer an applied event keeps for its redeliveries."""

from __future__ import annotations

import pytest

from crm.domain.errors import Invalid
from crm.domain.model import AppTrigger
from crm.domain.trigger_events import ItemRef
from crm.domain.triggering import Decision, Outcome
from tests.unit.builders import T0, trigger_event


@pytest.mark.parametrize(
    ("target", "ref"),
    [
        ("DEAL_25", ItemRef("deal", "25")),
        ("LEAD_3", ItemRef("lead", "3")),
        ("SMART_PROC_7", ItemRef("smart_proc", "7")),
        ("deal_1", ItemRef("deal", "1")),
    ],
)
def test_a_target_names_the_type_and_the_id(target, ref):
    assert ItemRef.from_target(target) == ref


@pytest.mark.parametrize("target", ["DEAL", "_25", "DEAL_", "", "DEAL 25_1", 25])
def test_anything_else_is_refused(target):
    with pytest.raises(Invalid):
        ItemRef.from_target(target)


@pytest.mark.parametrize("code", ["", "has space", "dash-code", "x" * 65, None])
def test_an_app_trigger_code_is_latin_letters_digits_and_underscores(code):
    with pytest.raises(Invalid):
        AppTrigger(code, "Paid", T0)


def test_an_applied_event_reads_back_as_it_was_answered():
    from crm.service.triggers import Applied

    applied = Applied.of(Decision.unapplied(trigger_event(), Outcome.NO_ITEM, T0), "j-1", None)
    assert Applied.from_dict(applied.to_dict()) == applied
    assert applied.to_dict()["moved"] is False and applied.item is None
