"""*Callback form filled*: the callback forms, with the same filter as CRM forms but its own type."""

from __future__ import annotations

from crm.domain.rules import CATALOGUE, RuleKind
from tests.unit.builders import fires, refused_params, trigger_event


def test_it_is_in_the_catalogue_in_the_crms_words():
    assert CATALOGUE.get(RuleKind.TRIGGER, "callback_form_filled").title == "Callback form filled"


def test_any_or_the_chosen_callback_forms_fire_it():
    assert fires("callback_form_filled", {"form_id": "call_me"})
    assert fires("callback_form_filled", {"form_id": "call_me"}, {"form_ids": ["call_me"]})
    assert not fires("callback_form_filled", {"form_id": "call_me"}, {"form_ids": ["call_me_later"]})


def test_a_plain_form_event_does_not_fire_a_callback_trigger():
    callback = CATALOGUE.get(RuleKind.TRIGGER, "callback_form_filled")
    assert not callback.matches(trigger_event("form_filled", {"form_id": "call_me"}), {"form_ids": []})


def test_unknown_params_are_refused():
    assert "callback: Extra inputs are not permitted" in refused_params(
        "callback_form_filled", {"callback": 1}
    )
