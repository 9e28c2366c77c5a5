"""*Notify*: an in-app notification to employees (the item's responsible, their supervisor, named
employees), also by email when asked. Gone and inactive employees are skipped and listed."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field, model_validator

from crm.domain.model import Employee, Item
from crm.domain.ports import MailDraft
from crm.domain.robots import RobotContext, RobotFailed
from crm.domain.rules import CATALOGUE, RuleKind, RuleType
from crm.domain.trigger_events import ItemRef
from crm.domain.work import MAX_TEXT, Notification, record_id
from crm.robots.inside import Id, Outputs, Params, Template, employee, rendered

MAX_RECIPIENTS = 20
DEFAULT_SUBJECT = "{{ item.title }}"


class Message(Params):
    text: Template
    email: bool = Field(False, strict=True, description="also send the text to each one's email address")
    subject: Template = Field(DEFAULT_SUBJECT, description="the email's subject")


class NotifyParams(Message):
    responsible: bool = Field(True, strict=True, description="the item's responsible")
    supervisor: bool = Field(False, strict=True, description="the responsible's supervisor")
    employees: list[Id] = Field(default_factory=list, max_length=MAX_RECIPIENTS)

    @model_validator(mode="after")
    def _someone(self) -> NotifyParams:
        if not (self.responsible or self.supervisor or self.employees):
            raise ValueError("notify someone: the responsible, their supervisor or named employees")
        return self


class NotifyOutputs(Outputs):
    notified: list[str]
    skipped: list[str] = Field(default_factory=list, description="employees gone or inactive")


def notify(ctx: RobotContext, item: Item, recipients: Sequence[Employee], message: Message) -> list[str]:
    """Notifies each of ``recipients`` (once each, whatever the attempt): their in-app notification
    is stored with the run; their email goes out now, under a key of its own."""
    text = rendered(ctx, message.text, "text", MAX_TEXT)
    subject = " ".join(rendered(ctx, message.subject, "subject", 998).splitlines()) if message.email else ""
    for recipient in recipients:
        ctx.effects.records.append(
            Notification(
                id=record_id(ctx.idempotency_key, "notification", recipient.id),
                employee_id=recipient.id,
                text=text,
                created_at=ctx.now,
                created_by=f"robot:{ctx.rule.id}",
                item=ItemRef(item.type, item.id),
            )
        )
        if message.email:
            ctx.ports.mailer.send_to_employee(
                ctx.tenant_id,
                recipient,
                MailDraft(subject, text=text),
                idempotency_key=f"{ctx.idempotency_key}:notify:{recipient.id}",
            )
    return [recipient.id for recipient in recipients]


def run(ctx: RobotContext, item: Item, params: NotifyParams) -> dict:
    responsible = employee(ctx, item.responsible_id)
    wanted: list[str] = []
    if params.responsible and item.responsible_id:
        wanted.append(item.responsible_id)
    if params.supervisor and responsible is not None and responsible.supervisor_id:
        wanted.append(responsible.supervisor_id)
    wanted += params.employees
    recipients, skipped = [], []
    for employee_id in dict.fromkeys(wanted):
        found = responsible if employee_id == item.responsible_id else employee(ctx, employee_id)
        if found is not None and found.active:
            recipients.append(found)
        else:
            skipped.append(employee_id)
    if not recipients:
        gone = f" (gone or inactive: {', '.join(skipped)})" if skipped else ""
        raise RobotFailed(f"nobody to notify{gone}", retryable=False)
    return {"notified": notify(ctx, item, recipients, params), "skipped": skipped}


NOTIFY = CATALOGUE.register(
    RuleType(
        "notify",
        RuleKind.ROBOT,
        "Notify",
        NotifyParams,
        "An in-app notification (and, if asked, an email) to the responsible, their supervisor or "
        "named employees; gone or inactive ones are skipped.",
        run=run,
        outputs=NotifyOutputs,
    )
)
