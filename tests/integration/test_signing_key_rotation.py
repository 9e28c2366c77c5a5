"""Rotation of the key that signs the tracking tokens of a tenant's mail (open pixel, tracked links,
Message-ID), against moto: through the management API, with opens and clicks through the tracking
function as API Gateway hands them over and replies through ``item_replied_to``. Mail sent before a
rotation keeps tracking and threading during the grace period; once its key is retired its tokens
are forged and record nothing; a key made in another container verifies at once."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta

import pytest

from crm.domain import clock, tracking
from crm.domain.trigger_events import ItemRef
from tests.integration.dynamodb_faults import dynamodb_faults  # noqa: F401 - a fixture
from tests.integration.test_management_api import api as api
from tests.integration.test_management_api import call
from tests.integration.test_outbound_mail import (
    OFFER,
    journal,
    send,
    sent_message,
    stage,
    track,
    tracked_urls,
)
from tests.integration.test_outbound_mail import crm as crm


@pytest.fixture
def frozen():
    """The application's clock, standing still until a test moves it."""
    now = clock.FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    clock.use_clock(now)
    yield now
    clock.use_clock(clock.SystemClock())


def mailed(api, deal, key: str):
    """A mail sent to the deal, as its contact receives it: (pixel, offer link, Message-ID)."""
    assert send(api, deal, key=key).status == 201
    message = sent_message()
    pixel, (offer, _) = tracked_urls(message)
    return pixel, offer, message["References"]


def key_of(url_or_id: str) -> int:
    token = tracking.token_of_message_id(url_or_id) or url_or_id.rsplit("/", 1)[1]
    return tracking.signed_by(token).key_id


def keys(api) -> dict:
    answer = call(api, "GET", "/mailbox/signing-key")
    assert answer.status == 200, answer.body
    return answer.body


def rotate(api, **body) -> dict:
    answer = call(api, "POST", "/mailbox/signing-key/rotate", body)
    assert answer.status == 200, answer.body
    return answer.body


def replied_to(message_id: str) -> ItemRef | None:
    from crm.service.outbound_mail import item_replied_to

    return item_replied_to("acme", [message_id])


def back_to_offer_sent(api, deal) -> None:
    body = {"stage_id": "offer_sent", "allow_backwards": True}
    assert call(api, "POST", f"/items/deal/{deal['id']}/stage", body).status == 200


# ---------------------------------------------------------------- reading the keys


def test_the_keys_are_shown_by_id_and_time_never_the_key(api, crm, frozen):
    from crm.adapters import outbound_mail as store

    missing = call(api, "GET", "/mailbox/signing-key")
    assert missing.status == 404 and "first mail" in missing.body["message"]
    mailed(api, crm, "offer-1")

    shown = keys(api)

    assert shown == {
        "current": {"id": 1, "created_at": "2026-03-02T09:00:00Z"},
        "previous": None,
        "rotated_at": None,
    }
    rotated = rotate(api)
    ring = store.key_ring("acme")
    for material in (ring.current.material, ring.previous.material):
        for text in (material.hex(), base64.b64encode(material).decode()):
            assert text not in str(rotated) and text not in str(keys(api))


# ---------------------------------------------------------------- rotation with a grace period


def test_mail_sent_before_a_rotation_tracks_and_threads_during_the_grace_period(api, crm, frozen):
    pixel, offer, message_id = mailed(api, crm, "offer-1")
    assert key_of(pixel) == key_of(offer) == key_of(message_id) == 1

    frozen.advance(timedelta(days=2))
    rotated = rotate(api, grace_days=30)

    assert rotated == {
        "current": {"id": 2, "created_at": "2026-03-04T09:00:00Z"},
        "previous": {
            "id": 1,
            "created_at": "2026-03-02T09:00:00Z",
            "valid_until": "2026-04-03T09:00:00Z",
        },
        "rotated_at": "2026-03-04T09:00:00Z",
    }
    assert keys(api) == rotated
    # Weeks later, the customer opens the first mail, clicks its offer and replies to it.
    frozen.advance(timedelta(days=29, hours=23))
    track(pixel)
    assert stage(api, crm) == "offer_read"
    clicked = track(offer)
    assert clicked["statusCode"] == 302 and clicked["headers"]["Location"] == OFFER
    assert stage(api, crm) == "offer_viewed"
    assert replied_to(message_id) == ItemRef("deal", crm["id"])
    # A mail sent after the rotation is signed with the new key, and works as well.
    back_to_offer_sent(api, crm)
    new_pixel, new_offer, new_id = mailed(api, crm, "offer-2")
    assert key_of(new_pixel) == key_of(new_offer) == key_of(new_id) == 2
    assert track(new_offer)["headers"]["Location"] == OFFER and stage(api, crm) == "offer_viewed"
    assert replied_to(new_id) == ItemRef("deal", crm["id"])


def test_when_the_grace_period_ends_the_old_mails_tokens_are_forged(api, crm, frozen):
    pixel, offer, message_id = mailed(api, crm, "offer-1")
    rotate(api, grace_days=7)
    entries = len(journal(api, crm))

    frozen.advance(timedelta(days=7))

    assert keys(api)["previous"] is None
    assert track(pixel)["statusCode"] == 200  # the image, whatever the token
    assert track(offer)["statusCode"] == 404
    assert replied_to(message_id) is None
    assert stage(api, crm) == "offer_sent" and len(journal(api, crm)) == entries
    assert call(api, "DELETE", "/mailbox/signing-key/previous").status == 404


def test_a_second_rotation_retires_the_oldest_key_two_verify_at_most(api, crm, frozen):
    first_pixel, _, _ = mailed(api, crm, "offer-1")
    rotate(api)
    second_pixel, _, _ = mailed(api, crm, "offer-2")
    twice = rotate(api, grace_days=1)
    assert (twice["current"]["id"], twice["previous"]["id"]) == (3, 2)

    track(first_pixel)
    assert stage(api, crm) == "offer_sent"
    track(second_pixel)
    assert stage(api, crm) == "offer_read"


# ---------------------------------------------------------------- retiring


def test_after_retiring_the_previous_key_its_tokens_are_forged_and_nothing_is_recorded(api, crm):
    pixel, offer, message_id = mailed(api, crm, "offer-1")
    rotate(api)
    entries = len(journal(api, crm))

    retired = call(api, "DELETE", "/mailbox/signing-key/previous")

    assert retired.status == 204
    assert keys(api)["previous"] is None and keys(api)["current"]["id"] == 2
    opened = track(pixel)
    assert opened["statusCode"] == 200 and opened["headers"]["Content-Type"] == "image/gif"
    clicked = track(offer)
    assert clicked["statusCode"] == 404 and "Location" not in clicked["headers"]
    assert replied_to(message_id) is None
    assert stage(api, crm) == "offer_sent" and len(journal(api, crm)) == entries
    assert call(api, "GET", "/journal?source=tracking").body["entries"] == []
    # Nothing left to retire; mail sent now tracks.
    again = call(api, "DELETE", "/mailbox/signing-key/previous")
    assert again.status == 404 and "no previous signing key" in again.body["message"]
    new_pixel, _, _ = mailed(api, crm, "offer-2")
    track(new_pixel)
    assert stage(api, crm) == "offer_read"


def test_a_rotation_without_grace_stops_the_old_key_at_once(api, crm):
    pixel, offer, _ = mailed(api, crm, "offer-1")
    rotated = rotate(api, grace_days=0)
    assert rotated["previous"] is None and rotated["current"]["id"] == 2
    track(pixel)
    assert track(offer)["statusCode"] == 404
    assert stage(api, crm) == "offer_sent"


# ---------------------------------------------------------------- other containers, other tenants


def test_a_key_made_in_another_container_verifies_at_once_with_one_read(api, crm, dynamodb):
    from crm.service import outbound_mail

    old_pixel, _, _ = mailed(api, crm, "offer-1")
    # The tracking function's container has read the keys (key 1 only) ...
    stale = dict(outbound_mail._keys)
    # ... when the API, in another container, rotates the key and sends a mail signed with key 2.
    rotate(api)
    new_pixel, _, _ = mailed(api, crm, "offer-2")
    outbound_mail._keys.update(stale)
    dynamodb.calls.clear()

    track(new_pixel)

    assert stage(api, crm) == "offer_read"
    tenants = os.environ["TENANTS_TABLE"]
    assert [call for call in dynamodb.calls if call[1] == tenants] == [("GetItem", tenants)]
    # Now it knows key 2: the next token of a known key costs no read of the keys.
    dynamodb.calls.clear()
    track(old_pixel)
    assert [call for call in dynamodb.calls if call[1] == tenants] == []


def test_a_key_retired_in_another_container_stops_verifying_here_within_a_minute(api, crm, frozen):
    from crm.service import outbound_mail

    pixel, offer, _ = mailed(api, crm, "offer-1")
    rotate(api)
    stale = dict(outbound_mail._keys)  # this container's view, with key 1 valid
    assert call(api, "DELETE", "/mailbox/signing-key/previous").status == 204
    outbound_mail._keys.update(stale)

    frozen.advance(outbound_mail.KEYS_FRESH_FOR)

    assert track(offer)["statusCode"] == 404
    track(pixel)
    assert stage(api, crm) == "offer_sent"


def test_a_token_naming_a_key_the_tenant_never_had_is_forged_after_one_read(api, crm, dynamodb):
    from crm.service import outbound_mail

    pixel, _, _ = mailed(api, crm, "offer-1")
    claims = tracking.Claims(tracking.Purpose.OPEN, "acme", ItemRef("deal", crm["id"]), "A" * 16)
    # Key 1's material under the id 7: the tag is right for that material, the id is no key of acme.
    current = outbound_mail.signing_key("acme")
    forged = tracking.sign(tracking.SigningKey(7, current.material, current.created_at), claims)
    dynamodb.calls.clear()

    answer = track(pixel.replace(pixel.rsplit("/", 1)[1], forged))

    assert answer["statusCode"] == 200 and stage(api, crm) == "offer_sent"
    tenants = os.environ["TENANTS_TABLE"]
    assert [call for call in dynamodb.calls if call[1] == tenants] == [("GetItem", tenants)]
    assert len(journal(api, crm)) == 1


def test_another_tenants_keys_never_verify_and_its_rotation_changes_nothing_here(api, crm):
    from crm.service import outbound_mail

    _, offer, message_id = mailed(api, crm, "offer-1")
    rotate(api)
    for _ in range(2):  # globex: keys 1 and 2, the same ids as acme's
        assert api.call("POST", "/mailbox/signing-key/rotate", {}, api.other_key).status == 200
    claims = tracking.Claims(tracking.Purpose.CLICK, "acme", ItemRef("deal", crm["id"]), "A" * 16, 0)
    globex = outbound_mail.signing_key("globex")
    assert globex.id == 2 and outbound_mail.signing_key("acme").id == 2
    forged = tracking.sign(globex, claims)
    assert track(offer.replace(offer.rsplit("/", 1)[1], forged))["statusCode"] == 404
    reply = tracking.Claims(tracking.Purpose.REPLY, "acme", ItemRef("deal", crm["id"]), "A" * 16)
    assert replied_to(tracking.message_id_header(tracking.sign(globex, reply), "x.test")) is None
    # acme's own mail, signed before its rotation, is unaffected by globex's
    assert track(offer)["statusCode"] == 302 and replied_to(message_id) == ItemRef("deal", crm["id"])
    other = api.call("GET", "/mailbox/signing-key", key=api.other_key).body
    assert other["current"]["id"] == 2 and other["previous"]["id"] == 1


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "body",
    [
        {"grace_days": -1},
        {"grace_days": 366},
        {"grace_days": "30"},
        {"grace_days": 1.5},
        {"grace_days": None},
        {"grace_days": 30, "key": "mine"},
        [{"grace_days": 3}],  # powertools took an array's first element for the object
        [{}, {}, {}],
    ],
)
def test_a_bad_grace_period_is_refused_and_changes_nothing(api, crm, body):
    mailed(api, crm, "offer-1")
    before = keys(api)
    answer = call(api, "POST", "/mailbox/signing-key/rotate", body)
    assert answer.status == 422, answer.body
    assert keys(api) == before


def test_the_keys_are_the_admins_only(api, crm):
    mailed(api, crm, "offer-1")
    items_key = call(api, "POST", "/api-keys", {"name": "shop", "scope": "items"}).body["key"]
    for method, path in (
        ("GET", "/mailbox/signing-key"),
        ("POST", "/mailbox/signing-key/rotate"),
        ("DELETE", "/mailbox/signing-key/previous"),
    ):
        assert api.call(method, path, {} if method == "POST" else None, items_key).status == 403
    assert keys(api)["current"]["id"] == 1


def test_a_rotation_racing_another_is_refused(api, crm):
    from crm.adapters import outbound_mail as store
    from crm.domain.errors import Conflict

    mailed(api, crm, "offer-1")
    read = store.key_ring("acme")
    rotate(api)
    with pytest.raises(Conflict):
        store.replace_key_ring(read.rotated(clock.now()), expected_key_id=read.current.id)
    assert keys(api)["current"]["id"] == 2


def test_rotating_before_the_first_mail_makes_the_first_key(api, crm):
    made = rotate(api)
    assert made["current"]["id"] == 1 and made["previous"] is None
    pixel, _, _ = mailed(api, crm, "offer-1")
    assert key_of(pixel) == 1
