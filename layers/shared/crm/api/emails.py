"""Mail from the CRM to an item's contact, the tenant's sender identity, and the keys that sign the
tracking tokens of its mail (admin scope, as every /mailbox route)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header
from pydantic import BaseModel, Field

from crm.api.context import tenant_id
from crm.api.schemas import AppliedOut, Body, Email, Id, PathId, TimelineEntryOut
from crm.api.urls import public_url
from crm.domain.outbound import MAX_DISPLAY_NAME, MAX_HTML, MAX_SUBJECT, MAX_TEXT, Draft, Sender
from crm.domain.tracking import DEFAULT_GRACE, MAX_GRACE, KeyRing
from crm.service import outbound_mail

router = Router()


class EmailIn(Body):
    subject: Annotated[str, Field(min_length=1, max_length=MAX_SUBJECT)]
    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)] | None = Field(
        None, description="the plain-text body (give text, html or both)"
    )
    html: Annotated[str, Field(min_length=1, max_length=MAX_HTML)] | None = Field(
        None,
        description="the HTML body: its http(s) links are tracked and an open pixel is added",
    )
    to: Email | None = Field(None, description="one of the item's emails (default: its first)")
    by: Id | None = Field(None, description="the employee sending (active)")


class EmailOut(BaseModel):
    message_id: str = Field(description="the CRM's id of the message")
    entry: TimelineEntryOut = Field(description="the message on the item's timeline")
    triggers: list[AppliedOut] = Field(description="what its *email sent* event did")


class SenderIn(Body):
    address: Email = Field(
        description="an address granted to the tenant by the platform operator (itself, or its domain) "
        "and verified by the mail service"
    )
    display_name: Annotated[str, Field(min_length=1, max_length=MAX_DISPLAY_NAME)] | None = None


class SenderOut(BaseModel):
    address: str
    display_name: str | None
    granted: bool = Field(
        description="whether the address is still granted: false once the platform operator withdrew "
        "it, and mail is then refused (409) until a granted address is set"
    )
    identities: list[str] = Field(
        description="the sender domains (any address at exactly that domain) and addresses the "
        "platform operator granted the tenant"
    )

    @classmethod
    def of(cls, configured: outbound_mail.ConfiguredSender) -> SenderOut:
        sender = configured.sender
        return cls(
            address=sender.address,
            display_name=sender.display_name,
            granted=configured.granted,
            identities=configured.identities.values(),
        )


@router.post("/items/<item_type>/<item_id>/emails", tags=["items"], status_code=201)
def send_email(
    item_type: PathId,
    item_id: PathId,
    body: EmailIn,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=255,
            description="names the mail for good: a retry with the same key sends nothing again and "
            "gets the first answer; the same key with another request is refused (422)",
        ),
    ] = None,
) -> EmailOut:
    """Sends a mail to the item's contact from the tenant's sender, with an open pixel and tracked
    links, records it on the timeline and fires *email sent*. 409 without a sender, when the
    sender is no longer granted to the tenant, when the item has no email, or when the mail
    service refuses the message."""
    sent = outbound_mail.send_email(
        tenant_id(router),
        item_type,
        item_id,
        Draft(body.subject, body.text, body.html),
        to=body.to,
        by=body.by,
        idempotency_key=idempotency_key,
        public_base=public_url(router, ""),
    )
    return EmailOut(
        message_id=sent.message_id,
        entry=TimelineEntryOut.of(sent.entry),
        triggers=[AppliedOut.model_validate(a.to_dict()) for a in sent.applied],
    )


@router.get("/mailbox/sender", tags=["outbound mail"])
def get_sender() -> SenderOut:
    """Whom the tenant's mail comes from, and the sender identities granted to it; 404 until one is
    configured (its message lists the granted identities)."""
    return SenderOut.of(outbound_mail.sender(tenant_id(router)))


@router.put("/mailbox/sender", tags=["outbound mail"])
def put_sender(body: SenderIn) -> SenderOut:
    """Sets whom the tenant's mail comes from: 422 for an address the platform operator has not
    granted the tenant (SES's verified identities are shared by every tenant of the account)."""
    sender = Sender(body.address, body.display_name)
    return SenderOut.of(outbound_mail.set_sender(tenant_id(router), sender))


class SigningKeyOut(BaseModel):
    id: int = Field(description="the key's number: the tenant's keys count 1, 2, 3 ...")
    created_at: datetime


class PreviousSigningKeyOut(SigningKeyOut):
    valid_until: datetime = Field(description="until when the tokens it signed still verify")


class SigningKeysOut(BaseModel):
    """The keys that sign the tracking tokens (open pixel, tracked links, Message-ID) of the tenant's
    mail; their material is never shown."""

    current: SigningKeyOut = Field(description="signs the mail sent from now on")
    previous: PreviousSigningKeyOut | None = Field(
        description="the key before the last rotation, while the tokens it signed still verify"
    )
    rotated_at: datetime | None

    @classmethod
    def of(cls, ring: KeyRing) -> SigningKeysOut:
        previous = None
        if ring.previous is not None and ring.previous_valid_until is not None:
            previous = PreviousSigningKeyOut(
                id=ring.previous.id,
                created_at=ring.previous.created_at,
                valid_until=ring.previous_valid_until,
            )
        return cls(
            current=SigningKeyOut(id=ring.current.id, created_at=ring.current.created_at),
            previous=previous,
            rotated_at=ring.rotated_at,
        )


class RotateSigningKeyIn(Body):
    grace_days: int = Field(
        DEFAULT_GRACE.days,
        strict=True,
        ge=0,
        le=MAX_GRACE.days,
        description="how long mail signed with the current key keeps tracking and threading (0: it "
        "stops now); mail is opened and replied to weeks after it is sent",
    )


@router.get("/mailbox/signing-key", tags=["outbound mail"])
def get_signing_keys() -> SigningKeysOut:
    """The tenant's signing keys: ids and times, never the keys. 404 before its first mail."""
    return SigningKeysOut.of(outbound_mail.signing_keys(tenant_id(router)))


@router.post("/mailbox/signing-key/rotate", tags=["outbound mail"])
def rotate_signing_key(body: RotateSigningKeyIn) -> SigningKeysOut:
    """A new key signs the mail sent from now on; the current one keeps verifying the mail already
    sent for grace_days (a previous key still in its grace period is retired). 409 if another
    rotation came first."""
    ring = outbound_mail.rotate_signing_key(tenant_id(router), timedelta(days=body.grace_days))
    return SigningKeysOut.of(ring)


@router.delete("/mailbox/signing-key/previous", tags=["outbound mail"], status_code=204)
def retire_previous_signing_key() -> None:
    """Ends the grace period now (after a leak, say): the opens, clicks and replies of mail the
    previous key signed are taken as forged, at once here and within 60 s in every container. 404
    if no previous key is valid."""
    outbound_mail.retire_previous_signing_key(tenant_id(router))
    return Response(204)
