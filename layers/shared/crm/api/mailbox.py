from __future__ import annotations

import os
from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, ConfigDict, Field

from crm.api.context import tenant_id
from crm.domain.errors import NotFound
from crm.domain.mail import UnverifiedMail
from crm.service.mail import mailbox_address, unverified_mail

router = Router()


class MailboxOut(BaseModel):
    address: str


class VerdictsOut(BaseModel):
    spf: str
    dkim: str
    dmarc: str
    spam: str
    virus: str


class UnverifiedMailOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    message_id: str
    from_: str = Field(alias="from", description="the From header as the message states it")
    envelope_sender: str = Field(description="SMTP MAIL FROM, what SPF checked")
    subject: str
    snippet: str
    received_at: datetime
    verdicts: VerdictsOut = Field(description="SES's verdicts: PASS, FAIL, GRAY or PROCESSING_FAILED")
    raw: str = Field(description="where the raw message is kept (s3://bucket/key)")

    @classmethod
    def of(cls, mail: UnverifiedMail) -> UnverifiedMailOut:
        return cls.model_validate(mail.to_dict() | {"from": mail.sender})


class UnverifiedMailPage(BaseModel):
    mail: list[UnverifiedMailOut]
    cursor: str | None = Field(None, description="pass as ?cursor= for the next page")


@router.get("/mailbox", tags=["inbound mail"])
def get_mailbox() -> MailboxOut:
    """The tenant's inbound address: mail sent (or forwarded, or BCC'd) there is recorded on the
    timeline of the sender's items."""
    address = mailbox_address(tenant_id(router), os.environ.get("INBOUND_DOMAIN", ""))
    if address is None:
        raise NotFound("this tenant has no inbound mailbox")
    return MailboxOut(address=address)


@router.get("/mailbox/unverified", tags=["inbound mail"])
def list_unverified(
    limit: Annotated[int, Query(ge=1, le=100)] = 50, cursor: Annotated[str | None, Query()] = None
) -> UnverifiedMailPage:
    """Mail to the tenant's address whose sender SES's SPF, DKIM and DMARC verdicts do not
    authenticate (forged or unaligned From, failed checks): kept here, newest first, for a year,
    and on no contact's timeline."""
    found, next_cursor = unverified_mail(tenant_id(router), limit, cursor)
    return UnverifiedMailPage(mail=[UnverifiedMailOut.of(m) for m in found], cursor=next_cursor)
