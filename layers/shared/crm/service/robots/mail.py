"""The ``Mailer`` port of the robots, on the CRM's own mail.

Mail to a client is the CRM mail of "Triggers I" (``crm.service.outbound_mail.send_email``):
tracked, threaded, on the item's timeline, firing *email sent*, once per idempotency key. Mail to
an employee is a plain notification from the tenant's sender, through SES, once per key with a
once-record (``crm.adapters.once_effects``). It lives in the service layer because it is a
use-case seen through a port, not a client of one service.

Attachments are refused (the CRM mail composes none yet; no robot offers them).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from crm.adapters.once_effects import RESEND_AFTER, once
from crm.adapters.ses import SesMailer
from crm.domain import clock
from crm.domain.errors import Conflict, Invalid, NotFound, Throttled
from crm.domain.model import Employee, Item
from crm.domain.outbound import Draft, Mailer, Sender, compose
from crm.domain.ports import MailDraft, Sent
from crm.domain.robots import RobotFailed
from crm.service import outbound_mail


def _draft(draft: MailDraft) -> Draft:
    """The CRM mail's draft of ``draft``; RobotFailed (not retried) for one it cannot send."""
    if draft.attachments:
        names = ", ".join(a.filename for a in draft.attachments)
        raise RobotFailed(f"the CRM mail sends no attachments yet ({names})", retryable=False)
    try:
        return Draft(draft.subject, draft.text, draft.html)
    except Invalid as invalid:
        raise RobotFailed(f"the mail cannot be sent: {invalid}", retryable=False) from None


class RobotMailer:
    def __init__(
        self, public_base: str, *, mailer: Mailer | None = None, resend_after: timedelta = RESEND_AFTER
    ) -> None:
        """``public_base``: the API's public URL, which the tracked links and pixel point at."""
        self.public_base = public_base.rstrip("/")
        self.mailer = mailer or SesMailer()
        self.resend_after = resend_after

    def send_to_client(
        self, tenant_id: str, item: Item, draft: MailDraft, *, to: str | None, idempotency_key: str
    ) -> Sent:
        try:
            sent = outbound_mail.send_email(
                tenant_id,
                item.type,
                item.id,
                _draft(draft),
                to=to,
                by=None,
                idempotency_key=idempotency_key,
                public_base=self.public_base,
                key_alone=True,
            )
        except Throttled as busy:
            raise RobotFailed(str(busy)) from None
        except (Conflict, Invalid, NotFound) as refused:
            # No sender, the mail service refused it, no address, the item is gone; or an earlier
            # attempt was cut off after asking the mail service (it is not sent twice).
            raise RobotFailed(str(refused), retryable=False) from None
        data = sent.entry.data
        return Sent(sent.message_id, {"to": data["to"], "service_message_id": data["service_message_id"]})

    def send_to_employee(
        self, tenant_id: str, employee: Employee, draft: MailDraft, *, idempotency_key: str
    ) -> Sent:
        mail = _draft(draft)
        try:
            configured = outbound_mail.sender(tenant_id)
        except NotFound as none:
            raise RobotFailed(str(none), retryable=False) from None
        if not configured.granted:
            raise RobotFailed(
                f"the sender {configured.sender.address} is no longer granted to this tenant",
                retryable=False,
            )
        identity = configured.sender
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        raw = compose(
            identity,
            employee.email,
            mail.subject,
            mail.text,
            mail.html,
            f"<{digest}@{identity.domain}>",
            clock.now(),
        )
        return once(
            tenant_id,
            "EMPLOYEE_MAIL",
            idempotency_key,
            lambda: self._send(identity, employee.email, raw),
            resend_after=self.resend_after,
        )

    def _send(self, identity: Sender, to: str, raw: bytes) -> Sent:
        try:
            service_id = self.mailer.send(identity.address, [to], raw)
        except Throttled as busy:
            raise RobotFailed(str(busy)) from None
        except Conflict as refused:
            raise RobotFailed(str(refused), retryable=False) from None
        # Any other error leaves open whether it went out (the Mailer's contract): ``once`` keeps
        # the key as being sent.
        return Sent(service_id, {"to": to})
