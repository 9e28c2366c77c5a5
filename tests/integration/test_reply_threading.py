"""Replies to mail sent from the CRM find their item: ``item_replied_to`` reads the signed id the
sent message carried in its Message-ID and References, and believes nothing it cannot verify."""

from __future__ import annotations

import pytest

from crm.domain import clock, tracking
from crm.domain.trigger_events import ItemRef

DEAL = ItemRef("deal", "25")
# A key the CRM never made, numbered as the tenant's first key is.
FORGER = tracking.SigningKey(1, b"\0" * 32, clock.now())


@pytest.fixture
def sent(aws):
    from crm.service import outbound_mail

    return outbound_mail.reply_id("acme", DEAL, "AbCdEfGhIjKlMnOp", "mail.acme.test")


def test_a_reply_naming_a_sent_message_finds_its_item_among_other_ids(sent):
    from crm.service.outbound_mail import item_replied_to

    others = ["<CAF=abc@mail.gmail.com>", "<0102018e-aaaa@eu-west-1.amazonses.com>"]
    assert item_replied_to("acme", [*others, sent]) == DEAL
    assert item_replied_to("acme", [sent.strip("<>")]) == DEAL  # without the angle brackets too


def test_ids_of_other_systems_or_none_find_nothing(sent):
    from crm.service.outbound_mail import item_replied_to

    assert item_replied_to("acme", []) is None
    assert item_replied_to("acme", ["<CAF=abc@mail.gmail.com>", "not an id", ""]) is None


def test_a_tampered_id_finds_nothing(sent):
    from crm.service.outbound_mail import item_replied_to

    token = tracking.token_of_message_id(sent)
    payload, tag = token.split(".")
    other_item = tracking.Claims(tracking.Purpose.REPLY, "acme", ItemRef("deal", "26"), "AbCdEfGhIjKlMnOp")
    forged_payload = tracking.sign(FORGER, other_item).split(".")[0]
    assert item_replied_to("acme", [f"<{forged_payload}.{tag}@mail.acme.test>"]) is None
    flipped = tag[:-2] + ("A" if tag[-2] != "A" else "B") + tag[-1]
    assert item_replied_to("acme", [f"<{payload}.{flipped}@mail.acme.test>"]) is None


def test_another_tenants_message_finds_nothing_for_this_tenant(sent):
    from crm.service import outbound_mail

    globex = outbound_mail.reply_id("globex", DEAL, "AbCdEfGhIjKlMnOp", "mail.globex.test")
    assert outbound_mail.item_replied_to("acme", [globex]) is None
    assert outbound_mail.item_replied_to("globex", [globex]) == DEAL
    assert outbound_mail.item_replied_to("globex", [sent]) is None


def test_a_tenant_that_never_sent_mail_has_no_key_and_finds_nothing(aws):
    from crm.service.outbound_mail import item_replied_to

    forged = tracking.sign(FORGER, tracking.Claims(tracking.Purpose.REPLY, "acme", DEAL, "A" * 16))
    assert item_replied_to("acme", [f"<{forged}@x.test>"]) is None


def test_the_signing_key_is_made_once_and_kept_when_two_containers_race(aws):
    from crm.adapters import outbound_mail as store
    from crm.adapters import warm
    from crm.service import outbound_mail

    first = outbound_mail.reply_id("acme", DEAL, "AbCdEfGhIjKlMnOp", "x.test")
    warm.clear()  # another container, which has not seen the key
    assert store.add_signing_key("acme", b"\1" * 32, clock.now()) == store.key_ring("acme")
    assert outbound_mail.reply_id("acme", DEAL, "AbCdEfGhIjKlMnOp", "x.test") == first
