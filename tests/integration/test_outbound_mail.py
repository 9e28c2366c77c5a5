"""Mail from the CRM, tracked, against moto: sent through the management API (SES's raw message
carries the pixel, the tracked links and the signed Message-ID), opened and clicked through the
tracking function with API Gateway's events; what moves, what the journal says, and what changes
nothing (duplicates, HEAD, prefetchers, scanners, bad tokens, refused sends)."""

from __future__ import annotations

import base64
import copy
import re
from email import message_from_bytes, policy
from urllib.parse import urlsplit

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from crm.domain import tracking
from crm.domain.trigger_events import ItemRef
from tests.conftest import REGION, lambda_context, load_event, load_handler
from tests.integration.dynamodb_faults import dynamodb_faults  # noqa: F401 - a fixture
from tests.integration.test_management_api import api as api
from tests.integration.test_management_api import call

STAGES = [
    {"name": "New"},
    {"name": "Offer sent"},
    {"name": "Offer read"},
    {"name": "Offer viewed"},
    {"name": "Won", "semantic": "success"},
    {"name": "Lost", "semantic": "failure"},
]
OFFER = "https://shop.acme.test/offers/7?utm=mail&ref=crm"
HTML = (
    "<html><body><p>Dear Maria,</p><p>Here is <a href='https://shop.acme.test/offers/7?utm=mail&amp;ref=crm'>"
    'your offer</a>, our <a href="https://acme.test/terms">terms</a>, and '
    '<a href="mailto:sales@acme.test">our address</a>.</p></body></html>'
)
SENDER = {"address": "sales@acme.test", "display_name": "Acme Sales"}
TRACKING_HOST = "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"


def grant(tenant_id: str, *domains: str, addresses: tuple[str, ...] = ()) -> None:
    """The platform operator grants the tenant sender identities (the operator command's use-case)."""
    from crm.domain.senders import SenderIdentities
    from crm.service.tenants import grant_sender_identities

    grant_sender_identities(tenant_id, SenderIdentities.granted(domains, addresses))


def withdraw(tenant_id: str, *domains: str) -> None:
    from crm.domain.senders import SenderIdentities
    from crm.service.tenants import withdraw_sender_identities

    withdraw_sender_identities(tenant_id, SenderIdentities.granted(domains))


@pytest.fixture
def crm(api):
    """Acme, granted its domain acme.test, with a verified sender, and triggers on its sales
    pipeline: email sent -> Offer sent, email read -> Offer read, a click on an offer link -> Offer
    viewed."""
    grant("acme", "acme.test")
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=SENDER["address"])
    assert (
        call(api, "POST", "/employees", {"id": "anna", "name": "Anna", "email": "anna@acme.test"}).status
        == 201
    )
    pipeline = {"id": "sales", "item_type": "deal", "name": "Sales", "stages": STAGES}
    assert call(api, "POST", "/pipelines", pipeline).status == 201
    for rule in (
        {"type_code": "email_sent", "stage_id": "offer_sent", "name": "Offer mailed"},
        {"type_code": "email_read", "stage_id": "offer_read", "name": "Offer opened"},
        {
            "type_code": "link_clicked",
            "stage_id": "offer_viewed",
            "name": "Offer viewed",
            "params": {"url": "https://shop.acme.test/offers/", "url_match": "prefix"},
        },
    ):
        answer = call(api, "POST", "/automation/deal/sales/triggers", rule)
        assert answer.status == 201, answer.body
    assert call(api, "PUT", "/mailbox/sender", SENDER).status == 200
    deal = call(
        api,
        "POST",
        "/items/deal",
        {
            "title": "Forklift",
            "emails": ["maria@client.test", "m.ivanova@client.test"],
            "responsible_id": "anna",
        },
    )
    assert deal.status == 201
    return deal.body


def outbox() -> list:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def send(api, deal, body=None, key="offer-1", **headers):
    headers = {"X-Forwarded-Proto": "https", **({"Idempotency-Key": key} if key else {}), **headers}
    payload = body or {"subject": "Your offer", "text": "See the offer: " + OFFER, "html": HTML, "by": "anna"}
    return api.call("POST", f"/items/deal/{deal['id']}/emails", payload, api.key, headers)


def sent_message(index=-1):
    raw = outbox()[index].raw_data
    return message_from_bytes(raw.encode() if isinstance(raw, str) else raw, policy=policy.default)


def tracked_urls(message) -> tuple[str, list[str]]:
    html = message.get_body(preferencelist=("html",)).get_content()
    (pixel,) = re.findall(r'<img src="([^"]+)"', html)
    links = re.findall(r'href="(https://[^"]+/t/c/[^"]+)"', html)
    return pixel, links


def track(
    url: str, method="GET", user_agent="Mozilla/5.0 (Windows NT 10.0) Chrome/126.0", ip="198.51.100.23"
):
    """The tracking function's answer to a request for ``url`` as API Gateway hands it over."""
    path = urlsplit(url).path.removeprefix("/dev")
    kind, token = path.split("/")[2], path.split("/")[3]
    event = copy.deepcopy(load_event("ingest_tracking/open_pixel.json"))
    event.update(
        resource=f"/t/{kind}/{{token}}", path=path, httpMethod=method, pathParameters={"token": token}
    )
    event["headers"]["User-Agent"] = user_agent
    event["multiValueHeaders"]["User-Agent"] = [user_agent]
    event["requestContext"].update(httpMethod=method, path=f"/dev{path}", resourcePath=event["resource"])
    event["requestContext"]["identity"].update(sourceIp=ip, userAgent=user_agent)
    return load_handler("ingest_tracking").lambda_handler(event, lambda_context())


def stage(api, deal) -> str:
    return call(api, "GET", f"/items/deal/{deal['id']}").body["stage_id"]


def journal(api, deal) -> list[dict]:
    return call(api, "GET", f"/items/deal/{deal['id']}/journal").body["entries"]


def timeline(api, deal) -> list[dict]:
    return call(api, "GET", f"/items/deal/{deal['id']}/timeline").body["entries"]


# ---------------------------------------------------------------- sending


def test_a_sent_mail_goes_to_the_contact_with_a_pixel_tracked_links_and_a_signed_id(api, crm):
    from crm.service.outbound_mail import item_replied_to

    answer = send(api, crm)

    assert answer.status == 201, answer.body
    (message,) = [sent_message()]
    assert message["To"] == "maria@client.test"
    assert message["From"] == "Acme Sales <sales@acme.test>"
    assert message["Subject"] == "Your offer"
    assert message.get_body(preferencelist=("plain",)).get_content().strip() == "See the offer: " + OFFER
    pixel, links = tracked_urls(message)
    assert pixel.startswith(f"https://{TRACKING_HOST}/dev/t/o/")
    assert len(links) == 2 and all(link.startswith(f"https://{TRACKING_HOST}/dev/t/c/") for link in links)
    html = message.get_body(preferencelist=("html",)).get_content()
    assert 'href="mailto:sales@acme.test"' in html and "shop.acme.test" not in html
    # Replies find the deal by the id in Message-ID or References (SES replaces the Message-ID).
    assert message["References"] == message["Message-ID"]
    assert message["Message-ID"].endswith("@acme.test>")
    assert item_replied_to("acme", [message["References"]]).id == crm["id"]
    # The answer: the message, its timeline entry, and the trigger that moved the deal.
    body = answer.body
    assert body["entry"]["kind"] == "email_sent" and body["entry"]["by"] == "anna"
    assert body["entry"]["data"] | {"service_message_id": "x"} == {
        "message_id": body["message_id"],
        "service_message_id": "x",
        "from": "sales@acme.test",
        "to": "maria@client.test",
        "subject": "Your offer",
        "tracked_links": 2,
    }
    assert body["entry"]["data"]["service_message_id"] == outbox()[-1].id
    (fired,) = body["triggers"]
    assert fired["moved"] and fired["stage_id"] == "offer_sent" and fired["rule_name"] == "Offer mailed"
    assert stage(api, crm) == "offer_sent"
    assert [e["kind"] for e in timeline(api, crm)][:2] == ["stage_changed", "email_sent"]


def test_a_retry_with_the_same_key_sends_nothing_and_answers_the_same(api, crm):
    first = send(api, crm)
    again = send(api, crm)
    assert again.status == 201 and again.body == first.body
    assert len(outbox()) == 1
    assert [e["kind"] for e in timeline(api, crm)].count("email_sent") == 1
    assert len(journal(api, crm)) == 1


def test_the_same_key_with_another_mail_is_refused_and_sends_nothing(api, crm):
    send(api, crm)
    other = send(api, crm, {"subject": "Another offer", "text": "Hello"})
    assert other.status == 422 and "another request" in other.body["message"]
    assert len(outbox()) == 1


def test_mail_without_a_key_is_sent_each_time(api, crm):
    assert send(api, crm, key=None).status == 201
    assert send(api, crm, key=None).status == 201
    assert len(outbox()) == 2


def test_the_recipient_is_one_of_the_items_emails(api, crm):
    body = {"subject": "Hi", "text": "Hello", "to": "M.Ivanova@client.test"}
    assert send(api, crm, body, key=None).status == 201
    assert sent_message()["To"] == "m.ivanova@client.test"
    stranger = send(api, crm, {**body, "to": "someone@else.test"}, key=None)
    assert stranger.status == 422 and "is not one of the emails" in stranger.body["message"]
    assert len(outbox()) == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"subject": "Hi"}, 422),  # no body at all
        ({"subject": "", "text": "x"}, 422),
        ({"subject": "a\r\nBcc: all@x.test", "text": "x"}, 422),  # no header injection
        ({"subject": "Hi", "text": "x" * 100_001}, 422),
        ({"subject": "Hi", "text": "x", "tenant_id": "globex"}, 422),
        ({"subject": "Hi", "text": "x", "by": "nobody"}, 422),
    ],
)
def test_malformed_mail_is_refused_and_nothing_is_sent(api, crm, body, status):
    answer = send(api, crm, body, key=None)
    assert answer.status == status, answer.body
    assert outbox() == [] and stage(api, crm) == "new"


def test_without_a_sender_or_an_email_nothing_is_sent(api, crm):
    no_email = call(api, "POST", "/items/deal", {"title": "No contact"}).body
    answer = send(api, no_email, key=None)
    assert answer.status == 409 and "no email address" in answer.body["message"]
    assert api.call("GET", "/mailbox/sender", key=api.other_key).status == 404
    assert (
        api.call(
            "POST", f"/items/deal/{crm['id']}/emails", {"subject": "x", "text": "y"}, api.other_key
        ).status
        == 404
    )
    assert outbox() == []


def test_a_tenant_without_a_sender_is_told_to_configure_one(api, crm):
    from crm.adapters.outbound_mail import SENDER_SK, SenderRecord

    SenderRecord(pk="acme", sk=SENDER_SK).delete()
    answer = send(api, crm)
    assert answer.status == 409 and "/mailbox/sender" in answer.body["message"]
    assert outbox() == []


def test_a_sender_the_mail_service_has_not_verified_is_refused_and_the_key_stays_free(api, crm):
    # Granted (at acme.test), but SES verified sales@acme.test only.
    assert call(api, "PUT", "/mailbox/sender", {"address": "news@acme.test"}).status == 200
    refused = send(api, crm)
    assert refused.status == 409 and "refused" in refused.body["message"]
    assert outbox() == [] and timeline(api, crm)[0]["kind"] == "created"
    assert call(api, "PUT", "/mailbox/sender", SENDER).status == 200
    assert send(api, crm).status == 201  # the same key, now that the sender works
    assert len(outbox()) == 1


def test_the_sender_is_read_back_and_checked(api):
    grant("acme", "acme.test")
    assert call(api, "GET", "/mailbox/sender").status == 404
    assert call(api, "PUT", "/mailbox/sender", {"address": "Sales@Acme.test"}).body == {
        "address": "sales@acme.test",
        "display_name": None,
        "granted": True,
        "identities": ["acme.test"],
    }
    assert call(api, "PUT", "/mailbox/sender", {"address": "not an address"}).status == 422
    assert call(api, "PUT", "/mailbox/sender", {"address": "a@b.test", "display_name": "x\ny"}).status == 422
    assert call(api, "GET", "/mailbox/sender").body["address"] == "sales@acme.test"


# ---------------------------------------------------------------- sender identities (tenant isolation)


def test_a_tenant_cannot_send_as_another_tenants_domain(api, crm):
    """SES verified sales@acme.test for the whole account; only Acme was granted acme.test."""
    grant("globex", "globex.test")
    refused = api.call("PUT", "/mailbox/sender", {"address": "sales@acme.test"}, api.other_key)
    assert refused.status == 422, refused.body
    assert "sales@acme.test is not granted to this tenant" in refused.body["message"]
    assert "any address at globex.test" in refused.body["message"]
    # Nothing was stored: Globex has no sender (its mail is refused, 409), Acme's is its own.
    assert api.call("GET", "/mailbox/sender", key=api.other_key).status == 404
    assert call(api, "GET", "/mailbox/sender").body["address"] == "sales@acme.test"


def test_a_domain_grants_its_own_addresses_and_an_address_only_itself(api):
    grant("acme", "acme.test", addresses=("CEO@Acme-Group.test",))

    def put(address: str):
        return call(api, "PUT", "/mailbox/sender", {"address": address})

    assert put("news@acme.test").status == 200
    assert put("ceo@acme-group.test").body["identities"] == ["acme.test", "ceo@acme-group.test"]
    for outside in ("sales@acme-group.test", "sales@eu.acme.test", "sales@acme.test.evil.test", "s@test"):
        assert put(outside).status == 422, outside
    assert call(api, "GET", "/mailbox/sender").body["address"] == "ceo@acme-group.test"


def test_a_tenant_without_grants_is_told_the_operator_grants_them(api):
    refused = api.call("PUT", "/mailbox/sender", {"address": "sales@globex.test"}, api.other_key)
    assert refused.status == 422 and "granted: none yet" in refused.body["message"]
    grant("globex", "globex.test")
    missing = api.call("GET", "/mailbox/sender", key=api.other_key)
    assert missing.status == 404 and "any address at globex.test" in missing.body["message"]


def test_a_grant_withdrawn_since_stops_the_mail_and_sends_nothing(api, crm):
    withdraw("acme", "acme.test")

    refused = send(api, crm)

    assert refused.status == 409, refused.body
    assert "sales@acme.test is no longer granted" in refused.body["message"]
    assert outbox() == [] and stage(api, crm) == "new"
    assert [e["kind"] for e in timeline(api, crm)] == ["created"]
    assert call(api, "GET", "/mailbox/sender").body | {"address": "-"} == {
        "address": "-",
        "display_name": "Acme Sales",
        "granted": False,
        "identities": [],
    }
    # Granted again, the same Idempotency-Key sends: the refusal kept nothing.
    grant("acme", "acme.test")
    assert send(api, crm).status == 201 and len(outbox()) == 1


# ---------------------------------------------------------------- opens


def test_the_first_open_moves_the_deal_and_later_opens_change_nothing(api, crm):
    send(api, crm)
    pixel, _ = tracked_urls(sent_message())

    answer = track(pixel)

    assert answer["statusCode"] == 200 and answer["isBase64Encoded"]
    assert base64.b64decode(answer["body"]) == tracking.PIXEL
    assert (
        answer["headers"]["Content-Type"] == "image/gif" and "no-store" in answer["headers"]["Cache-Control"]
    )
    assert stage(api, crm) == "offer_read"
    moved = journal(api, crm)[0]
    assert moved["event"]["type"] == "email_read" and moved["event"]["source"] == "tracking"
    assert moved["outcome"] == "moved"
    # The client moves the deal back; reading the mail again does not pull it forward again.
    assert (
        call(
            api, "POST", f"/items/deal/{crm['id']}/stage", {"stage_id": "offer_sent", "allow_backwards": True}
        ).status
        == 200
    )
    assert track(pixel)["statusCode"] == 200
    assert stage(api, crm) == "offer_sent"
    assert len(journal(api, crm)) == 2  # email sent, email read: one entry each


@pytest.mark.parametrize(
    ("method", "user_agent", "ip"),
    [
        ("HEAD", "Mozilla/5.0", "198.51.100.23"),
        ("GET", "Mozilla/5.0", "17.58.101.4"),  # Apple Mail Privacy Protection's proxies
        ("GET", "Mozilla/5.0 (compatible; Barracuda Sentinel)", "198.51.100.23"),
    ],
)
def test_prefetches_get_the_pixel_and_fire_nothing(api, crm, method, user_agent, ip):
    send(api, crm)
    pixel, _ = tracked_urls(sent_message())
    answer = track(pixel, method, user_agent, ip)
    assert answer["statusCode"] == 200 and answer["headers"]["Content-Type"] == "image/gif"
    assert stage(api, crm) == "offer_sent" and len(journal(api, crm)) == 1


def test_gmails_image_proxy_is_a_reader_opening_the_mail(api, crm):
    send(api, crm)
    pixel, _ = tracked_urls(sent_message())
    track(pixel, user_agent="Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko (via ggpht.com GoogleImageProxy)")
    assert stage(api, crm) == "offer_read"


def test_a_forged_or_foreign_pixel_gets_the_image_and_records_nothing(api, crm):
    from crm.service import outbound_mail

    send(api, crm)
    pixel, _ = tracked_urls(sent_message())
    token = pixel.rsplit("/", 1)[1]
    payload, tag = token.split(".")
    # Signed with globex's key, claiming acme's deal: acme's key does not verify it.
    claims = tracking.Claims(tracking.Purpose.OPEN, "acme", ItemRef("deal", crm["id"]), "A" * 16)
    globex = outbound_mail.token("globex", claims)
    for bad in (f"{payload}.{'A' * len(tag)}", "not-a-token", globex, token[:-1]):
        answer = track(pixel.replace(token, bad))
        assert answer["statusCode"] == 200 and answer["headers"]["Content-Type"] == "image/gif"
    assert stage(api, crm) == "offer_sent" and len(journal(api, crm)) == 1


# ---------------------------------------------------------------- clicks


def test_a_click_lands_on_the_stored_address_and_moves_the_deal(api, crm):
    send(api, crm)
    _, (offer, _) = tracked_urls(sent_message())

    answer = track(offer)

    assert answer["statusCode"] == 302 and answer["headers"]["Location"] == OFFER
    assert stage(api, crm) == "offer_viewed"
    clicked = journal(api, crm)[0]
    assert clicked["event"]["type"] == "link_clicked" and clicked["event"]["data"]["url"] == OFFER
    moved = timeline(api, crm)[0]
    assert moved["kind"] == "stage_changed" and moved["data"]["trigger"]["name"] == "Offer viewed"
    assert moved["by"] == "anna"  # the deal's responsible: the trigger names no one


def test_a_click_on_a_link_the_trigger_does_not_watch_is_journaled_not_moved(api, crm):
    send(api, crm)
    _, (_, terms) = tracked_urls(sent_message())
    answer = track(terms)
    assert answer["statusCode"] == 302 and answer["headers"]["Location"] == "https://acme.test/terms"
    assert stage(api, crm) == "offer_sent"
    (verdict,) = journal(api, crm)[0]["verdicts"]
    assert verdict["rule_name"] == "Offer viewed" and verdict["verdict"] == "params_mismatch"


def test_repeated_clicks_and_scanners_move_nothing_more_but_still_land(api, crm):
    send(api, crm)
    _, (offer, _) = tracked_urls(sent_message())
    scanned = track(offer, user_agent="Mozilla/5.0 (compatible; Proofpoint URL Defense)")
    assert scanned["statusCode"] == 302 and stage(api, crm) == "offer_sent"
    head = track(offer, "HEAD")
    assert (
        head["statusCode"] == 302 and head["headers"]["Location"] == OFFER and stage(api, crm) == "offer_sent"
    )
    track(offer)
    call(api, "POST", f"/items/deal/{crm['id']}/stage", {"stage_id": "offer_sent", "allow_backwards": True})
    assert track(offer)["headers"]["Location"] == OFFER
    assert stage(api, crm) == "offer_sent" and len(journal(api, crm)) == 2


def test_a_bad_click_token_is_404_never_a_redirect(api, crm):
    send(api, crm)
    pixel, (offer, _) = tracked_urls(sent_message())
    token = offer.rsplit("/", 1)[1]
    payload, tag = token.split(".")
    for bad in (f"{payload}.{'A' * len(tag)}", "x", pixel.rsplit("/", 1)[1]):  # forged, junk, an open token
        answer = track(offer.replace(token, bad))
        assert answer["statusCode"] == 404 and "Location" not in answer["headers"]
    assert stage(api, crm) == "offer_sent" and len(journal(api, crm)) == 1


def test_a_click_on_a_deleted_deal_still_lands_and_is_journaled_for_the_tenant(api, crm):
    send(api, crm)
    _, (offer, _) = tracked_urls(sent_message())
    assert call(api, "DELETE", f"/items/deal/{crm['id']}").status == 204
    assert track(offer)["headers"]["Location"] == OFFER
    (entry,) = call(api, "GET", "/journal?source=tracking").body["entries"]
    assert entry["outcome"] == "no_item"


def test_an_open_costs_a_read_and_a_transaction_warm(api, crm, dynamodb):
    send(api, crm)
    pixel, (offer, _) = tracked_urls(sent_message())
    dynamodb.calls.clear()
    track(pixel)
    assert [operation for operation, _ in dynamodb.calls] == ["GetItem", "TransactWriteItems"]
    dynamodb.calls.clear()
    track(offer)  # the stored address and the item in one read, then the move
    assert [operation for operation, _ in dynamodb.calls] == ["BatchGetItem", "TransactWriteItems"]
    dynamodb.calls.clear()
    track(offer, user_agent="Mozilla/5.0 (compatible; Proofpoint URL Defense)")  # fires nothing
    assert [operation for operation, _ in dynamodb.calls] == ["GetItem"]
