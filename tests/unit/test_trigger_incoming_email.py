"""*Incoming email*: any mail from the client, or only replies to mail sent from the CRM."""

from __future__ import annotations

from crm.domain.rules import CATALOGUE, RuleKind
from tests.unit.builders import fires, refused_params

NEW_THREAD = {"message_id": "<a1@client.example>"}
REPLY = {"message_id": "<a2@client.example>", "reply_to": "<offer-7@crm.example>"}


def test_it_is_in_the_catalogue_in_the_crms_words():
    assert CATALOGUE.get(RuleKind.TRIGGER, "incoming_email").title == "Incoming email"


def test_by_default_every_mail_fires_it():
    assert fires("incoming_email", NEW_THREAD)
    assert fires("incoming_email", REPLY)


def test_only_replies_leaves_new_threads_out():
    assert fires("incoming_email", REPLY, {"only_replies": True})
    assert not fires("incoming_email", NEW_THREAD, {"only_replies": True})


def test_params_are_checked():
    assert "only_replies: Input should be a valid boolean" in refused_params(
        "incoming_email", {"only_replies": "sometimes"}
    )
