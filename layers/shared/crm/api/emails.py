"""Mail from the CRM to an item's contact, and the tenant's sender identity."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header
from pydantic import BaseModel, Field

from crm.api.context import tenant_id
from crm.api.schemas import AppliedOut, Body, Email, Id, PathId, TimelineEntryOut
from crm.api.urls import public_url
from crm.domain.outbound import MAX_DISPLAY_NAME, MAX_HTML, MAX_SUBJECT, MAX_TEXT, Draft, Sender
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
    address: Email = Field(description="an address (or one of a domain) the mail service has verified")
    display_name: Annotated[str, Field(min_length=1, max_length=MAX_DISPLAY_NAME)] | None = None


class SenderOut(BaseModel):
    address: str
    display_name: str | None

    @classmethod
    def of(cls, sender: Sender) -> SenderOut:
        return cls(address=sender.address, display_name=sender.display_name)


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
    links, records it on the timeline and fires *email sent*. 409 without a sender, when the item
    has no email, or when the mail service refuses the message."""
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
    """Whom the tenant's mail comes from; 404 until one is configured."""
    return SenderOut.of(outbound_mail.sender(tenant_id(router)))


@router.put("/mailbox/sender", tags=["outbound mail"])
def put_sender(body: SenderIn) -> SenderOut:
    """Sets whom the tenant's mail comes from."""
    sender = Sender(body.address, body.display_name)
    return SenderOut.of(outbound_mail.set_sender(tenant_id(router), sender))
