"""*Send email*: a mail to the item's client, through the CRM mail of "Triggers I" (tracked,
threaded, on the item's timeline), as Bitrix24's "Send email" robot.

The subject is rendered as a header (a value cannot add a header line), the HTML body with every
value escaped (a contact's name cannot inject markup). Attachments are not offered yet: the
documents robots output a signed link (``document_url``), which a body can carry
(``{{ robots.r2.document_url }}``), and the Mailer takes attachments as bytes, which no port reads
back from a link."""

from __future__ import annotations

from pydantic import BaseModel, model_validator

from crm.domain.model import Item
from crm.domain.ports import MailDraft
from crm.domain.robots import RobotContext, RobotFailed
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.robots.inside import Params, Template
from crm.robots.outside import EmailTemplate, client_email, rendered, within

# RFC 5322: a header line is at most 998 characters.
MAX_SUBJECT = 998


class SendEmailParams(Params):
    subject: Template
    body_text: Template | None = None
    body_html: Template | None = None
    to: EmailTemplate | None = None  # one of the item's emails; none: its first

    @model_validator(mode="after")
    def _a_body(self) -> SendEmailParams:
        if self.body_text is None and self.body_html is None:
            raise ValueError("a mail has a body: body_text, body_html or both")
        return self


class SendEmailOutputs(BaseModel):
    message_id: str


def send_email(ctx: RobotContext, item: Item, params: SendEmailParams) -> dict[str, str]:
    to = client_email(ctx, item, params.to)
    draft = MailDraft(
        subject=within(rendered(ctx.header, params.subject, "subject"), MAX_SUBJECT, "subject"),
        text=None if params.body_text is None else rendered(ctx.text, params.body_text, "body_text"),
        html=None if params.body_html is None else rendered(ctx.html, params.body_html, "body_html"),
    )
    if not (draft.text or "").strip() and not (draft.html or "").strip():
        raise RobotFailed("the mail's body rendered empty", retryable=False)
    sent = ctx.ports.mailer.send_to_client(
        ctx.tenant_id, item, draft, to=to, idempotency_key=ctx.idempotency_key
    )
    return {"message_id": sent.id}


SEND_EMAIL = CATALOGUE.register(
    RuleType(
        "send_email",
        RuleKind.ROBOT,
        "Send email",
        SendEmailParams,
        "Sends a mail to the client (tracked, threaded, on the item's timeline); subject and bodies "
        "are templates.",
        run=send_email,
        outputs=SendEmailOutputs,
    )
)
