"""*Email sent to client*: every mail sent from the CRM or logged by an employee."""

from __future__ import annotations

import pytest

from crm.domain.errors import Invalid
from crm.domain.rules import CATALOGUE, RuleKind
from tests.unit.builders import fires, refused_params


def test_it_is_in_the_catalogue_in_the_crms_words():
    rule_type = CATALOGUE.get(RuleKind.TRIGGER, "email_sent")
    assert rule_type.title == "Email sent to client"
    assert rule_type.describe()["params_schema"]["properties"] == {}


def test_every_sent_mail_fires_it():
    assert fires("email_sent", {"message_id": "<offer-7@crm.example>"})


def test_it_takes_no_params():
    assert "subject: Extra inputs are not permitted" in refused_params("email_sent", {"subject": "Offer"})


def test_an_event_without_its_mail_is_refused():
    with pytest.raises(Invalid, match="message_id: Field required"):
        fires("email_sent", {})
