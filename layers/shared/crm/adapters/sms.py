"""The ``Sms`` port on SNS: ``Publish`` to a phone number, as a transactional SMS (delivered with the
higher reliability SNS gives one-time passwords and notices, not as marketing), from an optional
sender id. SNS takes no idempotency key: an SMS goes out once per key through a once-record
(``crm.adapters.once_effects``), at least once when an attempt is cut off after publishing.

Needs ``sns:Publish`` on ``*`` (a phone number is no resource). An account in the SMS sandbox sends
only to verified numbers; a sender id is honoured only in the countries that support it."""

from __future__ import annotations

import re
from datetime import timedelta

from botocore.exceptions import ClientError

from crm.adapters.clients import client
from crm.adapters.once_effects import RESEND_AFTER, OutcomeUnknown, once
from crm.domain.contacts import normal_phone
from crm.domain.errors import Invalid
from crm.domain.ports import Sent
from crm.domain.robots import RobotFailed

MAX_TEXT = 1600  # characters in one Publish; SNS splits longer texts into parts of 140 bytes
SENDER_ID = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9]{1,11}$")  # SNS: 1-11 alphanumerics, a letter
THROTTLED = {"Throttled", "Throttling", "ThrottlingException", "KMSThrottling"}


def e164(to: str) -> str:
    """``to`` as an E.164 number; a number no service can dial is a RobotFailed, not retried."""
    try:
        number = normal_phone(to)
    except Invalid as invalid:
        raise RobotFailed(str(invalid), retryable=False) from None
    if number != to.strip():
        raise RobotFailed(f"{to!r} is not in E.164 form ({number})", retryable=False)
    return number


def _refusal(error: ClientError, service: str) -> Exception:
    """What a refused AWS call means for a robot: a throttle is retried, another 4xx is not (neither
    sent anything); a 5xx leaves unknown whether the service acted."""
    failed = error.response.get("Error", {})
    code, message = failed.get("Code", ""), failed.get("Message", "")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
    if code in THROTTLED:
        return RobotFailed(f"{service} is busy: {message or code}")
    if 400 <= status < 500:
        return RobotFailed(f"{service} refused it: {message or code}", retryable=False)
    return OutcomeUnknown(f"{service} failed: {message or code}")


class SnsSms:
    def __init__(self, sender_id: str | None = None, *, resend_after: timedelta = RESEND_AFTER) -> None:
        if sender_id is not None and not SENDER_ID.match(sender_id):
            raise ValueError(f"SMS sender id {sender_id!r}: 1 to 11 letters and digits, one a letter")
        self.sender_id = sender_id
        self.resend_after = resend_after

    def send(self, tenant_id: str, to: str, text: str, *, idempotency_key: str) -> Sent:
        number = e164(to)
        if not text.strip():
            raise RobotFailed("the SMS text is empty", retryable=False)
        if len(text) > MAX_TEXT:
            raise RobotFailed(f"the SMS text is over {MAX_TEXT} characters ({len(text)})", retryable=False)
        return once(
            tenant_id,
            "SMS",
            idempotency_key,
            lambda: self._publish(number, text),
            resend_after=self.resend_after,
        )

    def _publish(self, number: str, text: str) -> Sent:
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
        if self.sender_id is not None:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self.sender_id}
        try:
            answer = client("sns").publish(PhoneNumber=number, Message=text, MessageAttributes=attributes)
        except ClientError as error:
            raise _refusal(error, "the SMS service") from None
        return Sent(answer["MessageId"], {"to": number})
