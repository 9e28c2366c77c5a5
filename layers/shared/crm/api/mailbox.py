from __future__ import annotations

import os

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel

from crm.api.context import tenant_id
from crm.domain.errors import NotFound
from crm.service.mail import mailbox_address

router = Router()


class MailboxOut(BaseModel):
    address: str


@router.get("/mailbox", tags=["inbound mail"])
def get_mailbox() -> MailboxOut:
    """The tenant's inbound address: mail sent (or forwarded, or BCC'd) there is recorded on the
    timeline of the sender's items."""
    address = mailbox_address(tenant_id(router), os.environ.get("INBOUND_DOMAIN", ""))
    if address is None:
        raise NotFound("this tenant has no inbound mailbox")
    return MailboxOut(address=address)
