"""*Email read*: the client opened a mail sent from the CRM."""

from __future__ import annotations

import pytest

from crm.domain.errors import Invalid
from crm.domain.rules import CATALOGUE, RuleKind
from tests.unit.builders import fires, refused_params


def test_it_is_in_the_catalogue_in_the_crms_words():
    assert CATALOGUE.get(RuleKind.TRIGGER, "email_read").title == "Email read"


def test_opening_any_sent_mail_fires_it():
    assert fires("email_read", {"message_id": "<offer-7@crm.example>"})


def test_it_takes_no_params():
    assert "url: Extra inputs are not permitted" in refused_params("email_read", {"url": "https://x.example"})


def test_an_event_with_unexpected_data_is_refused():
    with pytest.raises(Invalid, match="opened_at: Extra inputs are not permitted"):
        fires("email_read", {"message_id": "<m@x>", "opened_at": "now"})
